/**
 * `npm run bench`: each figure is measured against its baseline in the same run and printed as a
 * ratio. Trunks: create, list and delete BENCH_TRUNKS (1,000) through our API vs SipClient.
 */
import { dispose } from '@livekit/rtc-node';
import { AGENT_MEDIA_PORTS, runAgentBenches } from './agent-run.js';
import { printConsoleBench } from './console.js';
import { printEdgeBench } from './edge.js';
import { printEndpointingBench } from './endpointing.js';
import { measureFloor } from './floor.js';
import { printQueueBench } from './queue.js';
import { printRateLimitBench } from './rate-limits.js';
import { printRegistrationsBench } from './registrations.js';
import { printSmsBench } from './sms.js';
import { startBenchEnv } from './setup.js';
import { printSpeechDetectorBench } from './speech-detector.js';
import { runOfflineCallBench } from './offline-run.js';
import { throughApi, throughSipClient, type Timing } from './trunks.js';
import { webJoinTimes } from './web-join.js';
import { webhookIngest } from './webhooks.js';

const count = Number(process.env.BENCH_TRUNKS ?? 1000);
const TARGET = 1.5;

function row(label: string, direct: number, ours: number): string {
  return `${label.padEnd(10)} ${direct.toFixed(0).padStart(10)} ${ours.toFixed(0).padStart(10)} ${(ours / direct).toFixed(2).padStart(8)}x`;
}

// `npm run bench -- agent` (or BENCH_ONLY=agent): only the agent benchmarks.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'agent') {
  const env = await startBenchEnv({ mediaPorts: AGENT_MEDIA_PORTS });
  try {
    await runAgentBenches(env);
  } finally {
    await env.close();
    await dispose();
  }
  process.exit(0);
}

// `npm run bench -- vad`: the offline speech detector against Silero (no stack needed).
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'vad') {
  await printSpeechDetectorBench();
  await dispose();
  process.exit(0);
}

// `npm run bench -- endpointing`: phone endpointing vs LiveKit's defaults (no stack needed).
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'endpointing') {
  await printEndpointingBench();
  await dispose();
  process.exit(0);
}

// `npm run bench -- offline`: per-call CPU of OfflineTalkers vs bare participants and AgentSessions.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'offline') {
  await runOfflineCallBench();
  await dispose();
  process.exit(0);
}

// `npm run bench -- console`: the operator console's first load and live-view cost.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'console') {
  const env = await startBenchEnv();
  try {
    await printConsoleBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}

// `npm run bench -- queue`: only the cost of the concurrency limits and the queue.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'queue') {
  const env = await startBenchEnv();
  try {
    await printQueueBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}

// `npm run bench -- ratelimit`: only the cost of the API rate limits.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'ratelimit') {
  const env = await startBenchEnv();
  try {
    await printRateLimitBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}

// `npm run bench -- sms`: only SMS throughput through the API and the edge vs sipp direct.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'sms') {
  const env = await startBenchEnv();
  try {
    await printSmsBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}

// `npm run bench -- registrations`: SIP users' REGISTERs per second, our edge vs a bare registrar.
if ((process.argv[2] ?? process.env.BENCH_ONLY) === 'registrations') {
  const env = await startBenchEnv();
  try {
    await printRegistrationsBench(env);
  } finally {
    await env.close();
  }
  process.exit(0);
}

const env = await startBenchEnv({ mediaPorts: AGENT_MEDIA_PORTS });
try {
  // Warm both paths (JIT, connection pools) so neither pays first-call costs in the figures.
  await throughSipClient(env, 20);
  await throughApi(env, 20);
  const direct: Timing = await throughSipClient(env, count);
  const ours: Timing = await throughApi(env, count);
  const total = (t: Timing) => t.create + t.list + t.delete;
  console.log(`\nTrunks: ${count} created, listed and deleted (ms, one run, same LiveKit)`);
  console.log(
    `${'operation'.padEnd(10)} ${'SipClient'.padStart(10)} ${'our API'.padStart(10)} ${'ratio'.padStart(9)}`,
  );
  console.log(row('create', direct.create, ours.create));
  console.log(row('list', direct.list, ours.list));
  console.log(row('delete', direct.delete, ours.delete));
  console.log(row('total', total(direct), total(ours)));
  const ratio = total(ours) / total(direct);
  console.log(
    `\nAPI overhead ratio ${ratio.toFixed(2)}x (target <= ${TARGET}x): ${ratio <= TARGET ? 'met' : 'NOT met'}`,
  );
  const floor = await measureFloor(env, env.databaseUrl);
  const perWrite = floor.http + floor.commit;
  const best = (total(direct) + 2 * count * perWrite) / total(direct);
  console.log(
    `Floor on this machine: HTTP round trip ${floor.http.toFixed(2)} ms + durable commit ` +
      `${floor.commit.toFixed(2)} ms per write; an API adding only those to each create and ` +
      `delete would be ${best.toFixed(2)}x.`,
  );

  const events = Number(process.env.BENCH_WEBHOOKS ?? 2000);
  const { bareRate, oursRate, joinRate } = await webhookIngest(env, events, 16);
  const ingest = oursRate / bareRate;
  console.log(`\nLiveKit webhook ingest: ${events} signed events, 16 in flight`);
  console.log(`  bare Express JSON handler  ${bareRate.toFixed(0).padStart(6)} req/s`);
  console.log(
    `  verify + dedupe + store    ${oursRate.toFixed(0).padStart(6)} req/s  (room_started)`,
  );
  console.log(
    `  + apply to a call record   ${joinRate.toFixed(0).padStart(6)} req/s  (participant_joined, ${(joinRate / bareRate).toFixed(2)} of bare)`,
  );
  console.log(
    `  ratio ${ingest.toFixed(2)} of the bare rate (goal >= 0.5): ${ingest >= 0.5 ? 'met' : 'NOT met'}`,
  );

  await printEdgeBench(env);
  await printQueueBench(env);
  await printRateLimitBench(env);
  await printSmsBench(env);
  await printConsoleBench(env);
  await printRegistrationsBench(env);
  await printEndpointingBench();

  // Before the web join: it disposes rtc-node, which the agent benchmarks use.
  await runAgentBenches(env);

  const runs = Number(process.env.BENCH_WEB_RUNS ?? 10);
  const join = await webJoinTimes(env, runs);
  console.log(`\nWeb join, page load to first agent audio (headless Chromium, p50 of ${runs})`);
  console.log(`  direct            ${join.direct.toFixed(0).padStart(6)} ms`);
  console.log(
    `  relay only (TURN) ${join.relay.toFixed(0).padStart(6)} ms  (${(join.relay / join.direct).toFixed(2)}x direct)`,
  );
} finally {
  await env.close();
}
