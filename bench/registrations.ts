/**
 * SIP users' registrations per second: sipp registering one user with MD5 digest (REGISTER,
 * 401, REGISTER with the answer, 200) through our edge, with the API behind it (the user pushed
 * from PostgreSQL, the edge poll writing its registration state back every second), against a
 * bare Kamailio registrar (auth with one static plaintext user, usrloc in memory, nothing
 * else) in the same run, driven by the same sipp scenario. REGISTER to 200 OK (the whole
 * digest exchange) p50 and p95 come from a Node UA registering one at a time, timed with
 * performance.now(): sipp's clock ticks in 4 ms steps here.
 * `npm run bench -- registrations` (BENCH_REGISTRATIONS, default 5000; BENCH_REGISTER_LIMIT
 * registrations in flight, default 20; BENCH_REGISTER_TIMED, default 300 one at a time);
 * alone: `npx tsx bench/registrations.ts`.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runKamailio, startEdge } from '../scripts/stack/kamailio.js';
import { freePortBlock } from '../scripts/stack/ports.js';
import { SipPhone } from '../test/helpers/sip-phone.js';
import { percentile } from './agent-harness.js';
import { startBenchApi, startBenchEnv, type BenchEnv } from './setup.js';

const USER = 'bench-phone';
const PASSWORD = 'bench-phone-password';
const MODULES = process.env.KAMAILIO_MODULES_DIR ?? '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

/** REGISTER, 401, REGISTER with MD5 digest, 200; rtd 1 spans the whole exchange. */
const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench-register">
  <send retrans="500" start_rtd="1">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 600
      User-Agent: sipp-register-bench
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      [authentication]
      Max-Forwards: 70
      Expires: 600
      User-Agent: sipp-register-bench
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" rtd="1"/>
</scenario>
`;

/** The smallest registrar that does the same work: digest with a static user, usrloc. */
function bareRegistrarConfig(port: number): string {
  return `#!KAMAILIO
debug=1
log_stderror=yes
children=4
auto_aliases=no
listen=udp:127.0.0.1:${port}
mpath="${MODULES}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "textopsx.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "use_domain", 0)
request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (!is_method("REGISTER")) {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	if (!is_present_hf("Authorization") || $au != "${USER}" || !pv_www_authenticate("$td", "${PASSWORD}", "0")) {
		www_challenge("$td", "1");
		exit;
	}
	if (!save("location")) {
		sl_reply_error();
	}
	exit;
}
`;
}

function udpTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(true));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(false)));
  });
}

interface RegisterRun {
  done: number;
  failed: number;
  perSecond: number;
}

/** REGISTER to 200 OK (both round trips), ms, of `count` registrations one at a time. */
async function timedRegistrations(
  phone: SipPhone,
  port: number,
  count: number,
  algorithm: 'MD5' | 'SHA-256',
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    const { final } = await phone.register(
      { host: '127.0.0.1', port },
      { username: USER, password: PASSWORD, algorithm, expires: 600 },
    );
    if (final?.status !== 200) throw new Error(`REGISTER to ${port}: ${final?.status ?? 'none'}`);
    times.push(performance.now() - started);
  }
  return times;
}

/** `count` registrations with `limit` in flight against 127.0.0.1:port; rate and latencies. */
async function sippRegistrations(port: number, count: number, limit: number): Promise<RegisterRun> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-reg-'));
  const scenario = path.join(cwd, 'register.xml');
  writeFileSync(scenario, SCENARIO);
  const started = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      'sipp',
      [
        `127.0.0.1:${port}`,
        '-sf',
        scenario,
        '-s',
        USER,
        '-au',
        USER,
        '-ap',
        PASSWORD,
        '-i',
        '127.0.0.1',
        '-p',
        '0',
        '-m',
        String(count),
        '-l',
        String(limit),
        '-r',
        '100000',
        '-trace_rtt',
        '-rtt_freq',
        '1',
        '-timeout',
        `${30 + Math.ceil(count / 50)}s`,
        '-nostdin',
      ],
      { cwd, stdio: 'ignore' },
    );
    child.once('exit', (c) => resolve(c));
    child.once('error', reject);
  });
  const elapsed = Date.now() - started;
  const rttFile = readdirSync(cwd).find((f) => f.endsWith('_rtt.csv'));
  const times = rttFile
    ? readFileSync(path.join(cwd, rttFile), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => Number(line.split(';')[1]))
        .filter((ms) => Number.isFinite(ms))
    : [];
  const done = times.length;
  if (code !== 0 && done === 0) throw new Error(`sipp registered nothing (exit ${code}, ${cwd})`);
  return { done, failed: count - done, perSecond: (done / elapsed) * 1000 };
}

export async function registrationsBench(
  env: BenchEnv,
  count = Number(process.env.BENCH_REGISTRATIONS ?? 5000),
  limit = Number(process.env.BENCH_REGISTER_LIMIT ?? 20),
) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-registrar-'));
  const barePort = await freePortBlock(1);
  writeFileSync(path.join(dir, 'bare.cfg'), bareRegistrarConfig(barePort));
  const bare = await runKamailio('kamailio-bare-registrar', path.join(dir, 'bare.cfg'), {
    logDir: dir,
    runDir: path.join(dir, 'run'),
    ready: () => udpTaken(barePort),
  });
  // sipp answers only the first challenge, and only MD5: this edge offers MD5 first. Its flood
  // ban (30 requests in 2 s from one address) would stop the bench's single source at once.
  const edge = await startEdge({
    livekitHost: env.stack.sipHost,
    livekitPort: env.stack.sipPort,
    digestMd5First: true,
    floodRequests: 10_000_000,
  });
  const api = await startBenchApi('api-registrations', env.dataDir, {
    ...env.apiEnv,
    EDGE_ENABLED: 'true',
    EDGE_RPC_URL: edge.rpcUrl,
    EDGE_RPC_SECRET: edge.settings.rpcSecret,
    EDGE_CONTACT_ADDRESS: `127.0.0.1:${edge.sipPort}`,
    EDGE_POLL_SECONDS: '1',
    RATE_LIMIT_ENABLED: 'false',
  });
  try {
    const created = await fetch(`${api.url}/api/sip-users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: USER, password: PASSWORD }),
    });
    if (created.status !== 201) throw new Error(`POST /api/sip-users: ${created.status}`);
    // Warm both (and check each registers at all).
    await sippRegistrations(edge.sipPort, 50, limit);
    await sippRegistrations(barePort, 50, limit);
    const half = Math.ceil(count / 2);
    const runs = { bare: [] as RegisterRun[], edge: [] as RegisterRun[] };
    // Two halves each, alternating, so that the machine's drift weighs on both alike.
    for (let i = 0; i < 2; i += 1) {
      runs.bare.push(await sippRegistrations(barePort, half, limit));
      runs.edge.push(await sippRegistrations(edge.sipPort, half, limit));
    }
    const timed = Number(process.env.BENCH_REGISTER_TIMED ?? 300);
    const phone = await SipPhone.open('127.0.0.1');
    const latency = { bare: [] as number[], edge: [] as number[], edgeSha256: [] as number[] };
    try {
      for (let i = 0; i < timed; i += 50) {
        latency.bare.push(...(await timedRegistrations(phone, barePort, 50, 'MD5')));
        latency.edge.push(...(await timedRegistrations(phone, edge.sipPort, 50, 'MD5')));
        latency.edgeSha256.push(...(await timedRegistrations(phone, edge.sipPort, 50, 'SHA-256')));
      }
    } finally {
      phone.close();
    }
    const held = await fetch(`${api.url}/api/sip-users/${USER}`, {
      headers: { authorization: `Bearer ${env.adminKey}` },
    }).then((r) => r.json() as Promise<{ last_registration: string | null }>);
    return { runs, latency, lastRegistration: held.last_registration, count: half * 2, limit };
  } finally {
    await api.process.stop();
    await edge.stop();
    await bare.stop();
  }
}

export async function printRegistrationsBench(env: BenchEnv) {
  const r = await registrationsBench(env);
  const sum = (list: RegisterRun[]) => ({
    done: list.reduce((s, x) => s + x.done, 0),
    failed: list.reduce((s, x) => s + x.failed, 0),
    perSecond: list.reduce((s, x) => s + x.perSecond, 0) / list.length,
  });
  const bare = sum(r.runs.bare);
  const edge = sum(r.runs.edge);
  const ms = (values: number[]) =>
    `p50 ${percentile(values, 50).toFixed(2)} ms, p95 ${percentile(values, 95).toFixed(2)} ms`;
  const line = (label: string, x: ReturnType<typeof sum>, times: number[]) =>
    `  ${label.padEnd(30)} ${x.perSecond.toFixed(0).padStart(6)} reg/s (${x.done} ok, ${x.failed} failed)   one at a time: ${ms(times)}`;
  console.log(
    `\nSIP user registrations: ${r.count} per path, MD5 digest, ${r.limit} in flight (sipp); REGISTER to 200 OK over ${r.latency.bare.length} one at a time`,
  );
  console.log(line('bare Kamailio registrar', bare, r.latency.bare));
  console.log(line('our edge + API + PostgreSQL', edge, r.latency.edge));
  console.log(
    `  ${'our edge, SHA-256'.padEnd(30)} ${''.padStart(6)}                              ${ms(r.latency.edgeSha256)}`,
  );
  console.log(
    `  ratio ${(edge.perSecond / bare.perSecond).toFixed(2)} of the bare registrar's rate; the API saw the last at ${r.lastRegistration ?? 'never'}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = await startBenchEnv();
  try {
    await printRegistrationsBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}
