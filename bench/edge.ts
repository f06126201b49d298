/**
 * SIP edge overhead: INVITE to 200 OK through the Kamailio edge vs straight to LiveKit SIP, p50
 * and p95 over BENCH_EDGE_CALLS (20) sequential calls each, measured by sipp (response time of
 * the 200, `-trace_rtt`). LiveKit SIP answers only once someone in the room subscribes to the
 * caller, so a tone participant waits in the room: the figure includes LiveKit's room join.
 * Alone: `npx tsx bench/edge.ts` (BENCH_EDGE_DEBUG=1 shows sipp's screens and errors); also
 * part of `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEdge } from '../scripts/stack/kamailio.js';
import { inviteRingingTime } from '../test/helpers/sip-uac.js';
import { routedUacScenario } from '../test/helpers/sipp-routed.js';
import { startToneParticipant } from '../test/helpers/tone-participant.js';
import { percentile } from './agent-harness.js';
import { benchApi, startBenchEnv, type BenchEnv } from './setup.js';

const NUMBER = '+15550300001';
const ROOM = 'bench-edge';

let callers = 0;

/** Response times (ms) of the 200 OK of `calls` sequential sipp calls to host:port. */
async function sippAnswerTimes(port: number, calls: number): Promise<number[]> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-sipp-'));
  callers += 1;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'sipp',
      [
        '-sf',
        routedUacScenario(cwd),
        '-key',
        'caller',
        `+1555031${String(callers).padStart(4, '0')}`,
        `127.0.0.1:${port}`,
        '-s',
        NUMBER,
        '-i',
        '127.0.0.1',
        '-p',
        '0',
        '-m',
        String(calls),
        '-l',
        '1',
        '-d',
        '200',
        '-trace_rtt',
        '-rtt_freq',
        '1',
        '-timeout',
        `${10 + calls * 5}s`,
        '-nostdin',
        '-trace_err',
      ],
      { cwd, stdio: process.env.BENCH_EDGE_DEBUG ? 'inherit' : 'ignore' },
    );
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  if (process.env.BENCH_EDGE_DEBUG) {
    for (const f of readdirSync(cwd).filter((f) => f.endsWith('_errors.log')))
      console.log(readFileSync(path.join(cwd, f), 'utf8').slice(0, 3000));
  }
  const file = readdirSync(cwd).find((f) => f.endsWith('_rtt.csv'));
  if (!file) return [];
  return readFileSync(path.join(cwd, file), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => Number(line.split(';')[1]))
    .filter((ms) => Number.isFinite(ms));
}

interface Figures {
  answered: number;
  p50: number;
  p95: number;
}

const figures = (values: number[]): Figures => ({
  answered: values.length,
  p50: percentile(values, 50),
  p95: percentile(values, 95),
});

/**
 * `calls` calls on each path, alternating direct and edge so that LiveKit's own drift over the
 * run weighs on both alike. Two figures: INVITE to 200 OK (sipp), and INVITE to 180 Ringing
 * (LiveKit rings as soon as the call has a room; this one leaves out the room join).
 */
export async function edgeBench(env: BenchEnv, calls = Number(process.env.BENCH_EDGE_CALLS ?? 20)) {
  await benchApi(env, 'POST', '/api/trunks', {
    trunk_id: 'bench_edge',
    name: 'Edge bench',
    provider: 'generic',
    numbers: [NUMBER],
    allowed_addresses: ['127.0.0.1'],
  });
  await benchApi(env, 'POST', '/api/dispatch-rules', {
    name: 'bench-edge',
    type: 'direct',
    room_name: ROOM,
    trunk_ids: ['bench_edge'],
  });
  const listener = await startToneParticipant({
    wsUrl: env.stack.livekitWsUrl,
    apiKey: env.stack.keys.apiKey,
    apiSecret: env.stack.keys.apiSecret,
    room: ROOM,
    identity: 'bench-listener',
    seconds: 900,
  });
  const edge = await startEdge({ livekitHost: env.stack.sipHost, livekitPort: env.stack.sipPort });
  // No gateway supervises this edge: admit the bench trunk's number from 127.0.0.1 by hand.
  await edge.rpc.call('htable.sets', ['numtrunk', NUMBER.replace(/\D/g, ''), 'bench_edge']);
  await edge.rpc.call('htable.seti', ['trunkadm', 'bench_edge::ip::127.0.0.1', 1]);
  const ports = { direct: env.stack.sipPort, edge: edge.sipPort };
  const answer = { direct: [] as number[], edge: [] as number[] };
  const ringing = { direct: [] as number[], edge: [] as number[] };
  try {
    await sippAnswerTimes(ports.direct, 2);
    await sippAnswerTimes(ports.edge, 2);
    for (let i = 0; i < calls; i += 1) {
      for (const path of ['direct', 'edge'] as const) {
        answer[path].push(...(await sippAnswerTimes(ports[path], 1)));
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    // After the answered calls: interleaved with calls cancelled while ringing, LiveKit SIP
    // v1.8 ran out of RTP ports here after about 25 calls (500, "failed to listen on udp port").
    for (let i = 0; i < calls; i += 1) {
      for (const path of ['direct', 'edge'] as const) {
        const ms = await inviteRingingTime({
          host: '127.0.0.1',
          port: ports[path],
          number: NUMBER,
        });
        if (ms !== undefined) ringing[path].push(ms);
      }
    }
    return {
      calls,
      answer: { direct: figures(answer.direct), edge: figures(answer.edge) },
      ringing: { direct: figures(ringing.direct), edge: figures(ringing.edge) },
    };
  } finally {
    await edge.stop();
    await listener.stop();
  }
}

export async function printEdgeBench(env: BenchEnv): Promise<void> {
  const r = await edgeBench(env);
  const row = (label: string, s: Figures) =>
    `  ${label.padEnd(24)} p50 ${s.p50.toFixed(1).padStart(6)} ms   p95 ${s.p95.toFixed(1).padStart(6)} ms   (${s.answered}/${r.calls})`;
  console.log(`\nSIP edge: ${r.calls} calls on each path, alternating`);
  console.log(' INVITE to 200 OK (sipp; includes LiveKit joining the caller to the room)');
  console.log(row('straight to LiveKit SIP', r.answer.direct));
  console.log(row('through the edge', r.answer.edge));
  console.log(' INVITE to 180 Ringing (LiveKit rings once the call has a room)');
  console.log(row('straight to LiveKit SIP', r.ringing.direct));
  console.log(row('through the edge', r.ringing.edge));
  for (const [what, f] of [
    ['INVITE->200 OK', r.answer],
    ['INVITE->180', r.ringing],
  ] as const) {
    const added = f.edge.p50 - f.direct.p50;
    const addedP95 = f.edge.p95 - f.direct.p95;
    console.log(
      `  the edge adds ${added.toFixed(1)} ms at p50 (${addedP95.toFixed(1)} at p95) to ${what} (goal < 10 ms): ${added < 10 ? 'met' : 'NOT met'}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // LiveKit SIP holds a call's RTP port a while after it ends: give it room for 80 calls.
  const env = await startBenchEnv({ mediaPorts: 100 });
  try {
    await printEdgeBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}
