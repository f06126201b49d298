/**
 * The cost of the API rate limits: webhook ingest and trunk provisioning through an API process
 * with the limits on (counted in the stack's Redis, as with several API processes, limits high
 * enough never to refuse) against the same work through one with them off, same database and
 * LiveKit, runs interleaved so drift on a shared machine hits both. `npm run bench -- ratelimit`.
 */
import { livekitEventBody, livekitSignature } from '../test/helpers/livekit-webhook.js';
import { startBenchApi, type BenchEnv } from './setup.js';
import { throughApi } from './trunks.js';

const ROUNDS = Number(process.env.BENCH_RATELIMIT_ROUNDS ?? 7);
const EVENTS = Number(process.env.BENCH_RATELIMIT_EVENTS ?? 500);
const TRUNKS = Number(process.env.BENCH_RATELIMIT_TRUNKS ?? 100);
const CONCURRENCY = 16;

/** Sends `count` fresh signed room_started events, `CONCURRENCY` in flight: events per second. */
async function ingest(env: BenchEnv, url: string, count: number): Promise<number> {
  const { apiKey, apiSecret } = env.stack.keys;
  const bodies: { body: string; authorization: string }[] = [];
  for (let i = 0; i < count; i += 1) {
    const body = livekitEventBody('room_started', { room: { name: `rl-room-${i}` } });
    bodies.push({ body, authorization: await livekitSignature(body, apiKey, apiSecret) });
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const { body, authorization } = bodies[next++]!;
        const response = await fetch(`${url}/webhooks/livekit`, {
          method: 'POST',
          headers: { 'content-type': 'application/webhook+json', authorization },
          body,
        });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`webhook ingest: HTTP ${response.status}`);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** create + list + delete of `count` trunks through the API at `url`: milliseconds. */
async function provision(env: BenchEnv, url: string, count: number): Promise<number> {
  const t = await throughApi({ ...env, apiUrl: url }, count);
  return t.create + t.list + t.delete;
}

export async function printRateLimitBench(env: BenchEnv): Promise<void> {
  const high = '10000000';
  const off = await startBenchApi('api-limits-off', env.dataDir, {
    ...env.apiEnv,
    RATE_LIMIT_ENABLED: 'false',
  });
  const on = await startBenchApi('api-limits-on', env.dataDir, {
    ...env.apiEnv,
    REDIS_URL: `redis://${env.stack.redisAddress}`,
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_PER_KEY: high,
    RATE_LIMIT_PER_SOURCE: high,
    RATE_LIMIT_INTERNAL_PER_SOURCE: high,
  });
  try {
    // Warm both (JIT, pools, Redis scripts).
    for (const api of [off, on]) {
      await ingest(env, api.url, 100);
      await provision(env, api.url, 10);
    }
    const rates = { off: [] as number[], on: [] as number[] };
    const times = { off: [] as number[], on: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate which goes first, so a slower half of a round does not favour one side.
      const order = round % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const side of order) {
        const api = side === 'on' ? on : off;
        rates[side].push(await ingest(env, api.url, EVENTS));
        times[side].push(await provision(env, api.url, TRUNKS));
      }
    }
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    // Each round's on/off pair ran back to back: the median of the pairs' ratios is the figure,
    // the spread of the pairs what the shared machine's noise was.
    const ingestRatios = rates.on.map((x, i) => x / rates.off[i]!);
    const provisionRatios = times.off.map((x, i) => x / times.on[i]!);
    const show = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(' ');
    const ingestRatio = median(ingestRatios);
    const provisionRatio = median(provisionRatios);
    console.log(
      `\nAPI rate limits (Redis store, limits never reached) vs off: ${ROUNDS} rounds, same database and LiveKit`,
    );
    console.log(
      `  webhook ingest, ${EVENTS} events, ${CONCURRENCY} in flight: off ${median(rates.off).toFixed(0)} /s, ` +
        `on ${median(rates.on).toFixed(0)} /s (medians); throughput ratio ${ingestRatio.toFixed(3)} ` +
        `(median; rounds ${show(ingestRatios)})`,
    );
    console.log(
      `  trunk provisioning, ${TRUNKS} created, listed, deleted: off ${median(times.off).toFixed(0)} ms, ` +
        `on ${median(times.on).toFixed(0)} ms (medians); throughput ratio ${provisionRatio.toFixed(3)} ` +
        `(median; rounds ${show(provisionRatios)})`,
    );
    const worst = Math.min(ingestRatio, provisionRatio);
    console.log(
      `  goal: within 5% (ratio >= 0.95): ${worst >= 0.95 ? 'met' : 'NOT met'} (worst ${worst.toFixed(3)})`,
    );
  } finally {
    await on.process.stop();
    await off.process.stop();
  }
}
