import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { startProcess, waitUntil } from '../scripts/stack/processes.js';
import { startToneParticipant } from '../test/helpers/tone-participant.js';
import {
  CallerEars,
  cpuBetween,
  machineCpu,
  percentile,
  processTree,
  processUsage,
  sippCalls,
  startBenchWorker,
  type BenchWorker,
} from './agent-harness.js';
import {
  PROVIDER_KEYS,
  pipelineSettings,
  startPipelineProviders,
} from '../test/helpers/pipeline-providers.js';
import { startBridgePlatform } from './bridge-platform.js';
import { benchApi, type BenchEnv } from './setup.js';

const AGENT = 'bench-agent';
const AGENT_NUMBER = '+15552220000';
const FLOOR_NUMBER = '+15552220001';
const FLOOR_ROOM = 'bench-floor';
const BARE_NUMBER = '+15552220002';
const BARE_ROOM_PREFIX = 'bench-bare-';
const BARE_AGENT_NUMBER = '+15552220003';
const BARE_AGENT = 'bench-bare-agent';
const BRIDGE_NUMBER = '+15552220004';
const PIPELINE_NUMBER = '+15552220005';
const GREETING_WINDOW_MS = 5000;
/**
 * A pipeline call is held only while its VAD keeps up: a VAD this late hears the caller's turn
 * end this much late, and the agent answers that much later.
 */
const MAX_VAD_LAG_MS = 500;

/**
 * The worst lag Silero VAD reported (its "slower than realtime" warning carries how far its
 * inference is behind the audio) in the worker's log since `since`.
 */
function vadLag(logFile: string, since: number): number {
  let worst = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('VAD inference is slower than realtime')) continue;
    let entry: { time?: number; delay?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // the line the worker is writing now
    }
    if ((entry.time ?? 0) >= since) worst = Math.max(worst, entry.delay ?? 0);
  }
  return worst;
}

/** A call is held when its greeting has no gap over this (BENCH_MAX_GAP_MS; 40 ms by default). */
const MAX_GAP_MS = Number(process.env.BENCH_MAX_GAP_MS ?? 40);

/**
 * A trunk for sipp, a rule sending AGENT_NUMBER to the offline agent (a room per call), and a
 * rule sending FLOOR_NUMBER to one room where a bare rtc-node participant already publishes.
 */
export async function routeBenchCalls(env: BenchEnv): Promise<void> {
  await benchApi(env, 'POST', '/api/trunks', {
    trunk_id: 'bench_agent',
    name: 'Agent bench',
    provider: 'generic',
    numbers: [
      AGENT_NUMBER,
      FLOOR_NUMBER,
      BARE_NUMBER,
      BARE_AGENT_NUMBER,
      BRIDGE_NUMBER,
      PIPELINE_NUMBER,
    ],
    allowed_addresses: ['127.0.0.1'],
  });
  await benchApi(env, 'POST', '/api/dispatch-rules', {
    name: 'bench offline agent',
    type: 'individual',
    trunk_ids: ['bench_agent'],
    numbers: [AGENT_NUMBER],
    agent_name: AGENT,
  });
  // No worker registers under this name: nobody but the stand-in is in the floor room.
  await benchApi(env, 'POST', '/api/dispatch-rules', {
    name: 'bench floor',
    type: 'direct',
    room_name: FLOOR_ROOM,
    trunk_ids: ['bench_agent'],
    numbers: [FLOOR_NUMBER],
    agent_name: 'bench-no-agent',
  });
  // A room per call, answered by bench/bare-participants.ts: the capacity baseline.
  await benchApi(env, 'POST', '/api/dispatch-rules', {
    name: 'bench bare participants',
    type: 'individual',
    room_prefix: BARE_ROOM_PREFIX,
    trunk_ids: ['bench_agent'],
    numbers: [BARE_NUMBER],
    agent_name: 'bench-no-agent',
  });
  // A room per call, dispatched to bench/bare-agent.ts: LiveKit's dispatch and a bare join.
  await benchApi(env, 'POST', '/api/dispatch-rules', {
    name: 'bench bare agent',
    type: 'individual',
    room_prefix: 'bench-bare-agent-',
    trunk_ids: ['bench_agent'],
    numbers: [BARE_AGENT_NUMBER],
    agent_name: BARE_AGENT,
  });
}

interface OneCall {
  inviteTo200: number;
  inviteToAudio: number | undefined;
}

/** One call with its own sipp: INVITE -> 200 OK (sipp's rtd) and INVITE -> first sound heard. */
async function oneCall(env: BenchEnv, number: string, caller: number): Promise<OneCall> {
  const callers = await CallerEars.open(1);
  const ear = callers.ears[0]!;
  const sipp = sippCalls({
    host: env.stack.sipHost,
    port: env.stack.sipPort,
    number,
    rtpPorts: [ear.port],
    holdMs: 6000,
    rate: 1,
    firstCaller: caller,
  });
  try {
    const result = await sipp.done;
    if (result.code !== 0) throw new Error(`sipp exited ${result.code}: ${result.stderr}`);
    const inviteAt = sipp.startedAt + sipp.inviteOffsets()[0]!;
    return {
      inviteTo200: sipp.inviteTo200()[0]!,
      inviteToAudio: ear.firstSoundAt === undefined ? undefined : ear.firstSoundAt - inviteAt,
    };
  } finally {
    sipp.stop();
    callers.close();
  }
}

const stats = (values: number[]) => ({ p50: percentile(values, 50), p95: percentile(values, 95) });

function setupStats(list: OneCall[]) {
  const heard = list.filter((c) => c.inviteToAudio !== undefined);
  return {
    to200: stats(list.map((c) => c.inviteTo200)),
    toAudio: stats(heard.map((c) => c.inviteToAudio!)),
    answerToAudio: stats(heard.map((c) => c.inviteToAudio! - c.inviteTo200)),
    silent: list.length - heard.length,
  };
}

/**
 * Call setup, `calls` of each interleaved: the offline agent on the call host; a bare agent
 * (bench/bare-agent.ts: dispatched by LiveKit like the host, then only joins, publishes and
 * plays the same greeting once LiveKit SIP subscribes); and a bare rtc-node participant already
 * publishing a tone in the floor room (what LiveKit SIP itself takes to answer, with no dispatch
 * at all).
 */
export async function agentCallSetup(env: BenchEnv, calls: number) {
  const floorParticipant = await startToneParticipant({
    wsUrl: env.stack.livekitWsUrl,
    apiKey: env.stack.keys.apiKey,
    apiSecret: env.stack.keys.apiSecret,
    room: FLOOR_ROOM,
    identity: 'floor-stand-in',
    seconds: 60 + calls * 20,
  });
  const bareAgent = await startBenchChild(env, 'bare-agent', 'bare agent ready', {
    BARE_AGENT_NAME: BARE_AGENT,
  });
  const worker = await startBenchWorker(env, AGENT, {});
  const agent: OneCall[] = [];
  const dispatched: OneCall[] = [];
  const floor: OneCall[] = [];
  try {
    // Warm-up call of each kind (LiveKit room paths, first prompts): not counted.
    await oneCall(env, AGENT_NUMBER, 9000);
    await oneCall(env, BARE_AGENT_NUMBER, 9001);
    await oneCall(env, FLOOR_NUMBER, 9002);
    for (let i = 0; i < calls; i += 1) {
      floor.push(await oneCall(env, FLOOR_NUMBER, 3 * i));
      dispatched.push(await oneCall(env, BARE_AGENT_NUMBER, 3 * i + 1));
      agent.push(await oneCall(env, AGENT_NUMBER, 3 * i + 2));
      // Let the finished calls go, as between real calls.
      await new Promise((r) => setTimeout(r, 1500));
    }
  } finally {
    await worker.stop();
    await bareAgent.stop();
    await floorParticipant.stop();
  }
  return {
    calls,
    agent: setupStats(agent),
    dispatched: setupStats(dispatched),
    floor: setupStats(floor),
  };
}

export function printCallSetup(r: Awaited<ReturnType<typeof agentCallSetup>>): void {
  const cell = (s: { p50: number; p95: number }) =>
    `${s.p50.toFixed(0).padStart(6)} ${s.p95.toFixed(0).padStart(6)}`;
  const row = (label: string, pick: (x: ReturnType<typeof setupStats>) => typeof r.agent.to200) =>
    console.log(
      `${label.padEnd(22)} ${cell(pick(r.floor))}   ${cell(pick(r.dispatched))}   ${cell(pick(r.agent))}` +
        `   ${(pick(r.agent).p50 - pick(r.floor).p50).toFixed(0).padStart(6)}` +
        `   ${(pick(r.agent).p50 - pick(r.dispatched).p50).toFixed(0).padStart(6)}`,
    );
  console.log(
    `\nPhone call setup, ms (${r.calls} calls each, interleaved; sipp rtd for the 200 OK)`,
  );
  console.log(
    `${''.padEnd(22)} ${'participant in room'.padStart(13)}   ${'dispatched bare'.padStart(13)}` +
      `   ${'offline agent'.padStart(13)}   agent p50 minus: room  dispatched`,
  );
  console.log(
    `${''.padEnd(22)} ${'p50'.padStart(6)} ${'p95'.padStart(6)}   ${'p50'.padStart(6)} ${'p95'.padStart(6)}` +
      `   ${'p50'.padStart(6)} ${'p95'.padStart(6)}`,
  );
  row('INVITE -> 200 OK', (x) => x.to200);
  row('INVITE -> first audio', (x) => x.toAudio);
  row('200 OK -> first audio', (x) => x.answerToAudio);
  const silent = [r.agent.silent, r.dispatched.silent, r.floor.silent];
  if (silent.some((n) => n > 0)) {
    console.log(
      `  calls with no audio heard: agent ${silent[0]}, dispatched bare ${silent[1]}, room ${silent[2]}`,
    );
  }
}

export interface CapacityLevel {
  calls: number;
  answered: number;
  heard: number;
  /** Job processes at the measurement (calls + warm idle ones). */
  processes: number;
  /** Calls whose greeting had a gap > MAX_GAP_MS or under 48 packets/s. */
  gappy: number;
  worstGapMs: number;
  /** Longest a packet waited in the kernel for the ear to read it (what a gap measured in user
   * space would have added). */
  worstReadLagMs: number;
  minRate: number;
  lostPackets: number;
  to200: { p50: number; p95: number };
  /** How far Silero VAD fell behind the calls' audio at worst (pipeline mode; 0 without it). */
  vadLagMs: number;
  /** RSS the worker added per call over what it held before the level's calls came. */
  rssPerCallMb: number;
  pssPerCallMb: number;
  /** Percent of one core (the machine has 2: at most 200). */
  machineCpuPct: number;
  workerCpuPct: number;
  /** This process: the callers' RTP. */
  benchCpuPct: number;
  serverCpuPct: number;
  sipCpuPct: number;
  ok: boolean;
}

/** `calls` concurrent calls to `number` answered by `worker`, `rate` new calls per second. */
async function capacityLevel(
  env: BenchEnv,
  worker: BenchWorker,
  number: string,
  calls: number,
  rate: number,
  firstCaller: number,
): Promise<CapacityLevel> {
  const before = processUsage(processTree(worker.pid));
  const levelStart = Date.now();
  const callers = await CallerEars.open(calls);
  const ears = callers.ears;
  const rampMs = (calls / rate) * 1000;
  // Everyone stays until the last caller's greeting is over.
  const holdMs = rampMs + 75_000;
  const sipp = sippCalls({
    host: env.stack.sipHost,
    port: env.stack.sipPort,
    number,
    rtpPorts: ears.map((e) => e.port),
    holdMs,
    rate,
    firstCaller,
  });
  const pids = (p: { child: { pid?: number } }) => processTree(p.child.pid ?? 0);
  const server = env.stack.processes.find((p) => p.name === 'livekit-server')!;
  const sip = env.stack.processes.find((p) => p.name === 'livekit-sip')!;
  try {
    // Resources are measured once every caller hears the agent (or the ramp + 60 s is over).
    const measureBy = Date.now() + rampMs + 60_000;
    while (Date.now() < measureBy && ears.some((e) => e.firstSoundAt === undefined)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const cpu0 = machineCpu();
    const tree0 = processUsage(processTree(worker.pid));
    const server0 = processUsage(pids(server));
    const sip0 = processUsage(pids(sip));
    const self0 = process.cpuUsage();
    const ear0 = processUsage([callers.pid]);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 8000));
    const tree = processTree(worker.pid);
    const usage = processUsage(tree);
    const seconds = (Date.now() - t0) / 1000;
    const cpu1 = machineCpu();
    const pct = (a: Parameters<typeof cpuBetween>[0], b: Parameters<typeof cpuBetween>[1]) =>
      (100 * cpuBetween(a, b)) / seconds;
    const serverCpu = pct(server0, processUsage(pids(server)));
    const sipCpu = pct(sip0, processUsage(pids(sip)));
    const self = process.cpuUsage(self0);
    const selfCpu =
      (100 * (self.user + self.system)) / 1e6 / seconds + pct(ear0, processUsage([callers.pid]));
    const result = await sipp.done;
    let gappy = 0;
    let worstGapMs = 0;
    let minRate = Infinity;
    let heard = 0;
    for (const ear of ears) {
      if (ear.firstSoundAt === undefined) continue;
      heard += 1;
      const w = ear.window(ear.firstSoundAt, ear.firstSoundAt + GREETING_WINDOW_MS);
      worstGapMs = Math.max(worstGapMs, w.maxGapMs);
      minRate = Math.min(minRate, w.rate);
      if (w.maxGapMs > MAX_GAP_MS || w.rate < 48) gappy += 1;
    }
    const to200 = sipp.inviteTo200();
    const vadLagMs = vadLag(worker.logFile, levelStart);
    const level: CapacityLevel = {
      calls,
      answered: to200.length,
      heard,
      gappy,
      worstGapMs,
      worstReadLagMs: Math.max(0, ...ears.map((e) => e.worstReadLagMs)),
      minRate,
      lostPackets: ears.reduce((a, e) => a + e.lost, 0),
      to200: stats(to200),
      processes: jobProcesses(worker.pid, tree).length,
      rssPerCallMb: (usage.rssMb - before.rssMb) / calls,
      pssPerCallMb: usage.pssMb / calls,
      machineCpuPct: (200 * (cpu1.busy - cpu0.busy)) / (cpu1.total - cpu0.total),
      workerCpuPct: pct(tree0, usage),
      benchCpuPct: selfCpu,
      serverCpuPct: serverCpu,
      sipCpuPct: sipCpu,
      vadLagMs,
      ok: result.code === 0 && heard === calls && gappy === 0 && vadLagMs <= MAX_VAD_LAG_MS,
    };
    return level;
  } finally {
    sipp.stop();
    callers.close();
  }
}

/**
 * Job processes (one per call, plus the warm idle ones) among the worker's descendants: all but
 * the worker, its inference process and tsx's esbuild service (a job may retitle its process).
 */
function jobProcesses(worker: number, tree: number[]): number[] {
  return tree.filter((pid) => {
    if (pid === worker) return false;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return !cmdline.includes('inference_proc') && !cmdline.includes('esbuild');
    } catch {
      return false;
    }
  });
}

/**
 * Waits (bounded) until the worker has only its idle job processes and they are warm: the tree
 * uses under half a core over 2 s (the machine is shared, so not much less can be asked).
 */
async function settle(worker: BenchWorker, idle: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = processUsage(processTree(worker.pid));
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    const tree = processTree(worker.pid);
    const now = processUsage(tree);
    const quiet = cpuBetween(last, now) < 1;
    last = now;
    if (jobProcesses(worker.pid, tree).length === idle && quiet) return;
  }
  console.log(`  (the worker did not settle to ${idle} quiet idle processes in 120 s; going on)`);
}

/**
 * Ramps concurrent calls on one call host (its capacity high so it never refuses) until a
 * level fails: a caller heard no greeting, or a greeting had a gap > MAX_GAP_MS.
 */
export async function agentCapacity(env: BenchEnv, levels: number[], rate: number, idle: number) {
  // One call host; its capacity high so that it never refuses a level's calls.
  const worker = await startBenchWorker(env, AGENT, { CALL_HOST_CAPACITY: '1000' });
  try {
    await settle(worker, idle);
    const idleUsage = processUsage(processTree(worker.pid));
    console.log(
      `\nAgent capacity: worker with ${idle} idle job processes uses ${idleUsage.rssMb.toFixed(0)} MiB RSS ` +
        `(${idleUsage.pssMb.toFixed(0)} MiB PSS); calls arrive at ${rate}/s; log ${worker.logFile}`,
    );
    return await ramp(env, worker, AGENT_NUMBER, levels, rate, () => settle(worker, idle));
  } finally {
    await worker.stop();
  }
}

/** A ramp on a call host for one agent profile, routed from `number` (a room per call). */
async function profileCapacity(
  env: BenchEnv,
  line: {
    name: string;
    number: string;
    settings: unknown;
    workerEnv: Record<string, string>;
    title: string;
  },
  levels: number[],
  rate: number,
) {
  const profile = await benchApi(env, 'POST', '/api/agents', {
    name: line.name,
    settings: line.settings,
  });
  await benchApi(env, 'POST', '/api/dispatch-rules', {
    name: line.name,
    type: 'individual',
    room_prefix: `${line.name.replaceAll(' ', '-')}-`,
    trunk_ids: ['bench_agent'],
    numbers: [line.number],
    agent_name: AGENT,
    agent_profile_id: profile.id as string,
  });
  const worker = await startBenchWorker(env, AGENT, {
    CALL_HOST_CAPACITY: '1000',
    ...line.workerEnv,
  });
  try {
    await settle(worker, 0);
    console.log(`\n${line.title}; calls arrive at ${rate}/s; log ${worker.logFile}`);
    headerPrinted = false;
    return await ramp(env, worker, line.number, levels, rate, () => settle(worker, 0));
  } finally {
    await worker.stop();
  }
}

/**
 * The same ramp for bridge mode: each call streamed to a stand-in platform on loopback
 * (bench/bridge-platform.ts), whose answer is what the caller hears and is measured for gaps.
 */
export async function agentBridgeCapacity(env: BenchEnv, levels: number[], rate: number) {
  const platform = await startBridgePlatform();
  try {
    const line = {
      name: 'bench bridge',
      number: BRIDGE_NUMBER,
      settings: { mode: 'bridge', bridge: { url: platform.url } },
      // What the bridge signs its auth frame with (the stand-in does not check it).
      workerEnv: {
        BRIDGE_JWT_SECRET: randomBytes(32).toString('hex'),
        BRIDGE_HMAC_SECRET: randomBytes(32).toString('hex'),
      },
      title: 'Bridge capacity: calls streamed to a stand-in platform on loopback',
    };
    return await profileCapacity(env, line, levels, rate);
  } finally {
    await platform.close();
  }
}

/** Long enough that the stand-in TTS (50 ms of tone a character) outlasts the measured window. */
const PIPELINE_GREETING =
  'Hello, and thank you for calling the bench line. This greeting is long enough to be measured for gaps from start to end.';

/**
 * The same ramp for pipeline mode: @livekit/agents' voice pipeline per call with the official
 * Deepgram, OpenAI and ElevenLabs plugins pointed at stand-ins on loopback (test/standins); the
 * greeting is the stand-in TTS's tone.
 */
export async function agentPipelineCapacity(env: BenchEnv, levels: number[], rate: number) {
  const providers = await startPipelineProviders({ chatReply: 'Sure.', transcript: 'hello' });
  try {
    const line = {
      name: 'bench pipeline',
      number: PIPELINE_NUMBER,
      settings: pipelineSettings(providers, {
        greeting: PIPELINE_GREETING,
        system_prompt: 'You answer the bench line.',
      }),
      workerEnv: PROVIDER_KEYS,
      title: 'Pipeline capacity: stand-in STT, LLM and TTS on loopback',
    };
    return await profileCapacity(env, line, levels, rate);
  } finally {
    await providers.close();
  }
}

/**
 * The baseline for the same ramp: every call answered by a bare rtc-node participant (a tone,
 * nothing else), all in one process. What LiveKit, LiveKit SIP and the callers cost per call on
 * this machine, and the floor for any worker built on rtc-node.
 */
export async function bareCapacity(env: BenchEnv, levels: number[], rate: number) {
  const bare = await startBareParticipants(env);
  try {
    console.log(
      `\nBaseline capacity: calls answered by bare rtc-node participants in one process; calls arrive at ${rate}/s`,
    );
    headerPrinted = false;
    return await ramp(env, bare, BARE_NUMBER, levels, rate, async () => {
      // Rooms of the last level empty out and their participants leave.
      await new Promise((r) => setTimeout(r, 5000));
    });
  } finally {
    await bare.stop();
  }
}

async function ramp(
  env: BenchEnv,
  worker: BenchWorker,
  number: string,
  levels: number[],
  rate: number,
  between: () => Promise<void>,
): Promise<CapacityLevel[]> {
  const results: CapacityLevel[] = [];
  let caller = 0;
  for (const calls of levels) {
    const level = await capacityLevel(env, worker, number, calls, rate, caller);
    caller += calls;
    results.push(level);
    printCapacityLevel(level);
    if (worker.exited()) throw new Error(`${number} answerer died:\n${worker.tail()}`);
    if (!level.ok) break;
    await between();
  }
  return results;
}

/** A bench child (bench/<name>.ts) on the stack's LiveKit, once it printed `readyLine`. */
async function startBenchChild(
  env: BenchEnv,
  name: string,
  readyLine: string,
  extraEnv: Record<string, string>,
): Promise<BenchWorker> {
  let ready = false;
  const proc = startProcess(
    name,
    process.execPath,
    ['--import', 'tsx', path.join(packageRoot(), 'bench', `${name}.ts`)],
    {
      logDir: env.dataDir,
      env: {
        ...process.env,
        LIVEKIT_URL: env.stack.livekitUrl,
        LIVEKIT_API_KEY: env.stack.keys.apiKey,
        LIVEKIT_API_SECRET: env.stack.keys.apiSecret,
        ...extraEnv,
      },
      onLine: (line) => (ready ||= line.includes(readyLine)),
    },
  );
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const tail = () => readFileSync(proc.logFile, 'utf8').slice(-20_000);
  await waitUntil(`${name} (log: ${proc.logFile})`, async () => ready, {
    timeoutMs: 30_000,
    exited: proc.exited,
  });
  return {
    pid: proc.child.pid!,
    logFile: proc.logFile,
    exited: () => exited,
    tail,
    stop: () => proc.stop(10_000),
  };
}

const startBareParticipants = (env: BenchEnv) =>
  startBenchChild(env, 'bare-participants', 'bare participants ready', { BARE_ROOM_PREFIX });

let headerPrinted = false;
function printCapacityLevel(l: CapacityLevel): void {
  if (!headerPrinted) {
    headerPrinted = true;
    console.log(
      'calls answered heard gappy worstGap readLag vadLag minPkt/s lost  200p50 200p95 procs +RSS/call PSS/call  cpu% worker% lk% sip% callers% others%',
    );
  }
  console.log(
    `${String(l.calls).padStart(5)} ${String(l.answered).padStart(8)} ${String(l.heard).padStart(5)} ` +
      `${String(l.gappy).padStart(5)} ${l.worstGapMs.toFixed(1).padStart(8)} ${l.worstReadLagMs.toFixed(0).padStart(7)} ${l.vadLagMs.toFixed(0).padStart(6)} ${l.minRate.toFixed(1).padStart(9)} ` +
      `${String(l.lostPackets).padStart(5)} ${l.to200.p50.toFixed(0).padStart(7)} ${l.to200.p95.toFixed(0).padStart(6)} ` +
      `${String(l.processes).padStart(5)} ${l.rssPerCallMb.toFixed(0).padStart(8)} ${l.pssPerCallMb.toFixed(0).padStart(8)} ` +
      `${l.machineCpuPct.toFixed(0).padStart(5)} ${l.workerCpuPct.toFixed(0).padStart(7)} ${l.serverCpuPct.toFixed(0).padStart(3)} ` +
      `${l.sipCpuPct.toFixed(0).padStart(4)} ${l.benchCpuPct.toFixed(0).padStart(8)} ` +
      `${Math.max(
        0,
        l.machineCpuPct - l.workerCpuPct - l.serverCpuPct - l.sipCpuPct - l.benchCpuPct,
      )
        .toFixed(0)
        .padStart(7)}` +
      `  ${l.ok ? 'ok' : 'BROKE'}`,
  );
}
