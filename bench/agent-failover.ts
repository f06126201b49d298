import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { waitUntil } from '../scripts/stack/processes.js';
import { CallerEars, percentile, sippCalls } from './agent-harness.js';
import type { BenchEnv } from './setup.js';

const AGENT = 'bench-agent';
const AGENT_NUMBER = '+15552220000';
const FIRST_CALLER = 5000;

interface HostInfo {
  index: number;
  pid: number | null;
  registered: boolean;
  activeCalls: number;
}

export interface FailoverResult {
  calls: number;
  /** Calls per host once every caller was greeted. */
  split: number[];
  killedCalls: number;
  /** Callers who heard the agent again after the kill (the killed host's calls). */
  resumed: number;
  resumeMs: { p50: number; max: number };
  /** sipp's exit: 0 when every call lasted until the caller hung up. */
  sippCode: number | null;
}

/** `npm run agent` as deployed: the supervisor with two call hosts, on the bench's LiveKit. */
async function startSupervisor(env: BenchEnv, capacity: number) {
  const port = await freeTcpPort();
  const logFile = path.join(env.dataDir, `supervisor-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/agent/main.ts'], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LIVEKIT_URL: env.stack.livekitUrl,
      LIVEKIT_API_KEY: env.stack.keys.apiKey,
      LIVEKIT_API_SECRET: env.stack.keys.apiSecret,
      GATEWAY_API_URL: env.internalUrl,
      AGENT_NAME: AGENT,
      AGENT_HTTP_PORT: String(port),
      CALL_HOSTS: '2',
      CALL_HOST_CAPACITY: String(capacity),
      LOG_LEVEL: 'info',
    },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hosts = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/hosts`)).json()) as HostInfo[];
  await waitUntil(
    `call host supervisor (log: ${logFile})`,
    async () => (await fetch(`http://127.0.0.1:${port}/`)).ok,
    { timeoutMs: 90_000, exited },
  );
  return {
    hosts,
    logFile,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The callers (their index among the ears) whose call the host `pid` started, from its log
 * lines: rooms are named after the caller, +1555800NNNN.
 */
function callsOfHost(logFile: string, pid: number | null): number[] {
  const callers = new Set<number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    let entry: { pid?: number; msg?: string; room?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.pid !== pid || entry.msg !== 'call started') continue;
    const caller = /_\+1555800(\d{4})_/.exec(entry.room ?? '')?.[1];
    if (caller) callers.add(Number(caller) - FIRST_CALLER);
  }
  return [...callers];
}

/**
 * Two call hosts, `calls` calls arriving one a second; once every caller was greeted, the host
 * with more calls is killed (SIGKILL). Each of its calls should get an agent on the other host
 * that says "Sorry, where were we?", and no call should drop.
 */
export async function agentFailover(env: BenchEnv, calls: number): Promise<FailoverResult> {
  const supervisor = await startSupervisor(env, calls);
  const callers = await CallerEars.open(calls);
  const ears = callers.ears;
  const sipp = sippCalls({
    host: env.stack.sipHost,
    port: env.stack.sipPort,
    number: AGENT_NUMBER,
    rtpPorts: ears.map((e) => e.port),
    holdMs: calls * 1000 + 30_000,
    rate: 1,
    firstCaller: FIRST_CALLER,
  });
  try {
    const greetBy = Date.now() + calls * 1000 + 30_000;
    while (Date.now() < greetBy && ears.some((e) => e.firstSoundAt === undefined)) {
      await new Promise((r) => setTimeout(r, 250));
    }
    // The greetings end before the kill, so sound afterwards is the new agent's.
    await new Promise((r) => setTimeout(r, 8000));
    const hosts = await supervisor.hosts();
    const split = hosts.map((h) => h.activeCalls);
    const victim = hosts.reduce((a, b) => (b.activeCalls > a.activeCalls ? b : a));
    const killedAt = Date.now();
    if (victim.pid) process.kill(victim.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 10_000));
    const resumeTimes = callsOfHost(supervisor.logFile, victim.pid)
      .map((n) => ears[n]?.soundAfter(killedAt + 300))
      .filter((t): t is number => t !== undefined)
      .map((t) => t - killedAt);
    const result = await sipp.done;
    return {
      calls,
      split,
      killedCalls: callsOfHost(supervisor.logFile, victim.pid).length,
      resumed: resumeTimes.length,
      resumeMs: { p50: percentile(resumeTimes, 50), max: Math.max(...resumeTimes) },
      sippCode: result.code,
    };
  } finally {
    sipp.stop();
    callers.close();
    await supervisor.stop();
  }
}

export function printFailover(r: FailoverResult): void {
  console.log(`\nTwo call hosts, ${r.calls} calls at 1/s, then the busier host killed`);
  console.log(`  calls per host by load: ${r.split.join(' + ')}`);
  console.log(
    `  killed host's calls: ${r.killedCalls}; callers who heard an agent again: ${r.resumed}` +
      ` (sound ${r.resumeMs.p50.toFixed(0)} ms p50, ${r.resumeMs.max.toFixed(0)} ms at most after the kill)`,
  );
  console.log(
    `  calls dropped: ${r.sippCode === 0 ? 'none (every call lasted until its caller hung up)' : `some (sipp exit ${r.sippCode})`}`,
  );
}
