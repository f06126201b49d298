/**
 * The cost of the concurrency limits and the queue per call setup. The agent asks the API for a
 * place once the call is answered and before it speaks (POST /internal/agent/calls/admit), so
 * the check adds its round trip to INVITE -> first audio and nothing to INVITE -> 200 OK.
 * Measured against the real API process and PostgreSQL of the bench environment, with calls
 * already holding places, in one run:
 *   no limits     - nothing limited: the check only records the call's place
 *   limits        - trunk, number and profile limits with room to spare (the call is admitted)
 *   queue poll    - the number is full and calls wait: a waiting call's once-a-second poll
 * `npm run bench -- queue` runs only this part (bench/run.ts).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { signAgentToken } from '../src/contract/index.js';
import { percentile } from './agent-harness.js';
import { benchApi, type BenchEnv } from './setup.js';

const NUMBER = '+15553330000';
const OPEN_CALLS = Number(process.env.BENCH_QUEUE_OPEN_CALLS ?? 100);
const ROUNDS = Number(process.env.BENCH_QUEUE_ROUNDS ?? 300);

interface Figures {
  p50: number;
  p95: number;
}

export async function queueBench(env: BenchEnv) {
  const trunk = await benchApi(env, 'POST', '/api/trunks', {
    trunk_id: 'bench_queue',
    name: 'Queue bench',
    provider: 'generic',
    numbers: [NUMBER],
    allowed_addresses: ['127.0.0.1'],
  });
  const profile = await benchApi(env, 'POST', '/api/agents', {
    name: 'bench-queue',
    settings: { mode: 'offline' },
  });
  const numbers = await benchApi(env, 'GET', '/api/numbers');
  const number = (numbers.items as { id: string; number: string }[]).find(
    (n) => n.number === NUMBER,
  )!;
  const token = await signAgentToken(env.stack.keys.apiSecret, 3600);
  const db = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });
  const request = (room: string) => ({
    room_name: room,
    livekit_trunk_id: trunk.livekit_inbound_trunk_id,
    to_number: NUMBER,
    from_number: '+15557770000',
    agent_profile_id: profile.id,
  });
  const admit = async (room: string) => {
    const response = await fetch(`${env.internalUrl}/internal/agent/calls/admit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request(room)),
    });
    if (!response.ok) throw new Error(`admit: ${response.status} ${await response.text()}`);
    return (await response.json()) as { state: string };
  };
  /** p50/p95 of `one`; what it returns runs after the clock stops (clean-up, not measured). */
  const timed = async (
    rounds: number,
    one: (i: number) => Promise<(() => Promise<unknown>) | void>,
  ): Promise<Figures> => {
    const times: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const started = performance.now();
      const after = await one(i);
      times.push(performance.now() - started);
      await after?.();
    }
    return { p50: percentile(times, 50), p95: percentile(times, 95) };
  };
  /** New calls' checks; each place is removed afterwards, so the load stays put. */
  const newCalls = (rounds: number, expect: string) =>
    timed(rounds, async () => {
      const room = `bench-${randomUUID()}`;
      const answer = await admit(room);
      if (answer.state !== expect) throw new Error(`expected ${expect}, got ${answer.state}`);
      return () => db.query('DELETE FROM call_slots WHERE room_name = $1', [room]);
    });
  try {
    const floor = await timed(ROUNDS, async () => {
      await fetch(`${env.apiUrl}/health`).then((r) => r.text());
    });
    for (let i = 0; i < OPEN_CALLS; i += 1) await admit(`bench-open-${i}`);
    await newCalls(30, 'active'); // warm-up
    const noLimits = await newCalls(ROUNDS, 'active');
    await benchApi(env, 'PUT', `/api/trunks/bench_queue`, { max_concurrent_calls: 10_000 });
    await benchApi(env, 'PUT', `/api/numbers/${number.id}`, { max_concurrent_calls: 10_000 });
    await benchApi(env, 'PUT', `/api/agents/${profile.id}`, {
      settings: { mode: 'offline', max_concurrent_calls: 10_000 },
    });
    const limits = await newCalls(ROUNDS, 'active');
    // The number is full: 20 calls wait and poll, as they do once a second each.
    await benchApi(env, 'PUT', `/api/numbers/${number.id}`, { max_concurrent_calls: OPEN_CALLS });
    const waiting = Array.from({ length: 20 }, (_, i) => `bench-waiting-${i}`);
    for (const room of waiting) await admit(room);
    const poll = await timed(ROUNDS, async (i) => {
      const answer = await admit(waiting[i % waiting.length]!);
      if (answer.state !== 'queued') throw new Error(`expected queued, got ${answer.state}`);
    });
    return { floor, noLimits, limits, poll };
  } finally {
    await db.query("DELETE FROM call_slots WHERE room_name LIKE 'bench-%'");
    await db.end();
  }
}

export async function printQueueBench(env: BenchEnv): Promise<void> {
  const r = await queueBench(env);
  const row = (label: string, f: Figures) =>
    `  ${label.padEnd(36)} p50 ${f.p50.toFixed(2).padStart(6)} ms   p95 ${f.p95.toFixed(2).padStart(6)} ms`;
  console.log(
    `\nConcurrency limits and queue: the agent's admission check per call (${ROUNDS} calls, ${OPEN_CALLS} calls already holding places)`,
  );
  console.log(row('HTTP floor (GET /health)', r.floor));
  console.log(row('check, no limits set', r.noLimits));
  console.log(row('check, trunk+number+profile limits', r.limits));
  console.log(row('poll of a waiting call (20 waiting)', r.poll));
  console.log(
    `  limits cost ${(r.limits.p50 - r.noLimits.p50).toFixed(2)} ms p50 over no limits ` +
      `(${(r.limits.p50 / r.noLimits.p50).toFixed(2)}x); the check adds ${r.limits.p50.toFixed(1)} ms ` +
      `to INVITE -> first audio and nothing to INVITE -> 200 OK (it runs after the answer)`,
  );
}
