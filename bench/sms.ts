/**
 * SMS throughput: BENCH_SMS (500) texts through POST /api/sms/send (stored and queued, sent by
 * the queue worker through the Kamailio edge) to a UDP provider that answers 200, against sipp
 * sending the same number of MESSAGEs straight to that provider, in the same run. Prints
 * messages per second of each and the ratio, and p50/p95 from the POST to the provider's
 * receipt. Alone: `npx tsx bench/sms.ts`; also `npm run bench -- sms`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEdge } from '../scripts/stack/kamailio.js';
import { freePortBlock } from '../scripts/stack/ports.js';
import { startSmsProvider, type SmsProvider } from '../test/helpers/sms-provider.js';
import { percentile } from './agent-harness.js';
import { startBenchApi, startBenchEnv, type BenchEnv } from './setup.js';

const FROM = '+15550400001';
const scenario = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'test',
  'sipp',
  'uac-message.xml',
);

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

/** sipp sending `count` MESSAGEs to the provider, up to 50 in flight: messages per second. */
async function sippDirect(provider: SmsProvider, count: number): Promise<number> {
  const before = provider.received.length;
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-sms-'));
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'sipp',
      [
        '-sf',
        scenario,
        `127.0.0.1:${provider.port}`,
        '-s',
        '15550409999',
        '-i',
        '127.0.0.1',
        '-p',
        '0',
        '-m',
        String(count),
        '-r',
        '2000',
        '-l',
        '50',
        '-timeout',
        '120s',
        '-nostdin',
      ],
      { cwd, stdio: 'ignore' },
    );
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  const elapsed = Date.now() - started;
  const got = provider.received.length - before;
  return (got / elapsed) * 1000;
}

export async function smsBench(env: BenchEnv, count = Number(process.env.BENCH_SMS ?? 500)) {
  const provider = await startSmsProvider();
  const smsPort = await freePortBlock(1);
  const edge = await startEdge({
    livekitHost: env.stack.sipHost,
    livekitPort: env.stack.sipPort,
    smsTarget: `127.0.0.1:${smsPort}`,
  });
  const api = await startBenchApi('api-sms', env.dataDir, {
    ...env.apiEnv,
    REDIS_URL: `redis://${env.stack.redisAddress}`,
    EDGE_ENABLED: 'true',
    EDGE_RPC_URL: edge.rpcUrl,
    EDGE_RPC_SECRET: edge.settings.rpcSecret,
    EDGE_CONTACT_ADDRESS: `127.0.0.1:${edge.sipPort}`,
    EDGE_POLL_SECONDS: '2',
    SMS_SIP_PORT: String(smsPort),
    RATE_LIMIT_ENABLED: 'false',
  });
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${api.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as { id: string };
  };
  try {
    await call('POST', '/api/trunks', {
      trunk_id: 'bench_sms',
      name: 'SMS bench',
      provider: 'generic',
      numbers: [FROM],
      allowed_addresses: ['127.0.0.1'],
      supports_outbound: true,
      proxy_address: '127.0.0.1',
      proxy_port: provider.port,
    });
    // The edge learns the provider's address at the supervisor's next push.
    await new Promise((r) => setTimeout(r, 3000));
    const send = (i: number) =>
      call('POST', '/api/sms/send', {
        from_number: FROM,
        to_number: `+1555041${String(i % 10000).padStart(4, '0')}`,
        message: `bench text ${i}`,
      });
    // Warm both paths.
    await sippDirect(provider, 20);
    const warm = provider.received.length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => send(i)));
    await until(() => provider.received.length >= warm + 20, 30_000);

    const direct = await sippDirect(provider, count);
    const before = provider.received.length;
    const postedAt = new Map<string, number>();
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const i = next++;
          const at = Date.now();
          const { id } = await send(i);
          postedAt.set(id, at);
        }
      }),
    );
    const postedIn = Date.now() - started;
    await until(() => provider.received.length >= before + count, 120_000);
    const got = provider.received.slice(before);
    const elapsed = Math.max(...got.map((m) => m.at)) - started;
    const latencies = got
      .map((m) => {
        const posted = postedAt.get(m.callId.split('@')[0]!);
        return posted === undefined ? undefined : m.at - posted;
      })
      .filter((v): v is number => v !== undefined);
    return {
      count,
      delivered: got.length,
      direct,
      ours: (got.length / elapsed) * 1000,
      posted: (count / postedIn) * 1000,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
    };
  } finally {
    await api.process.stop();
    await edge.stop();
    provider.close();
  }
}

export async function printSmsBench(env: BenchEnv): Promise<void> {
  const r = await smsBench(env);
  console.log(`\nSMS: ${r.count} texts to a provider answering 200 (UDP, loopback)`);
  console.log(`  sipp straight to the provider   ${r.direct.toFixed(0).padStart(6)} msg/s`);
  console.log(
    `  POST /api/sms/send -> edge      ${r.ours.toFixed(0).padStart(6)} msg/s  (${(r.ours / r.direct).toFixed(2)} of sipp; ${r.delivered}/${r.count} delivered)`,
  );
  console.log(`  (the POSTs alone: ${r.posted.toFixed(0)} accepted per second, 16 in flight)`);
  console.log(
    `  POST to the provider's receipt  p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms (spec: 100+ msg/s: ${r.ours >= 100 ? 'met' : 'NOT met'})`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = await startBenchEnv();
  try {
    await printSmsBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}
