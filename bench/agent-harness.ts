import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../src/config/paths.js';
import { toolCacheRoot } from '../scripts/stack/binaries.js';
import { startAgentProcess } from '../test/helpers/agent-process.js';
import type { BenchEnv } from './setup.js';

/** The real agent worker (src/agent/main.ts) as a child process, as deployed. */
export interface BenchWorker {
  pid: number;
  logFile: string;
  stop(): Promise<void>;
  exited(): boolean;
  tail(): string;
}

export async function startBenchWorker(
  env: BenchEnv,
  agentName: string,
  extraEnv: Record<string, string>,
): Promise<BenchWorker> {
  const logFile = path.join(env.dataDir, `agent-worker-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const worker = await startAgentProcess({
    livekit: {
      url: env.stack.livekitUrl,
      apiKey: env.stack.keys.apiKey,
      apiSecret: env.stack.keys.apiSecret,
    },
    gatewayUrl: env.internalUrl,
    agentName,
    env: extraEnv,
    // BENCH_AGENT_BUILD=dist runs the compiled worker (npm run build first), as deployed.
    compiled: process.env.BENCH_AGENT_BUILD === 'dist',
    keepOutput: 20_000,
    onOutput: (d) => log.write(d),
    stopTimeoutMs: 35_000,
  });
  return {
    pid: worker.pid,
    logFile,
    exited: worker.exited,
    tail: worker.output,
    async stop() {
      await worker.stop();
      log.end();
    },
  };
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The process and all its descendants, from /proc (ppid is field 4 of /proc/<pid>/stat). */
export function processTree(root: number): number[] {
  const parent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(Number(name), 'stat');
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parent.set(ppid, [...(parent.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(parent.get(pid) ?? []));
  }
  return out;
}

/** RSS and PSS (shared pages split between sharers) in MiB, and CPU seconds used so far. */
export function processUsage(pids: number[]): {
  rssMb: number;
  pssMb: number;
  cpuS: number;
  cpuByPid: Map<number, number>;
} {
  let rss = 0;
  let pss = 0;
  let ticks = 0;
  const cpuByPid = new Map<number, number>();
  for (const pid of pids) {
    rss += Number(/VmRSS:\s+(\d+)/.exec(readProc(pid, 'status') ?? '')?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(readProc(pid, 'smaps_rollup') ?? '')?.[1] ?? 0);
    const stat = readProc(pid, 'stat');
    if (stat) {
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const own = Number(fields[11]) + Number(fields[12]); // utime, stime
      ticks += own;
      cpuByPid.set(pid, own / 100);
    }
  }
  return { rssMb: rss / 1024, pssMb: pss / 1024, cpuS: ticks / 100, cpuByPid };
}

/** CPU seconds used between two samples by the processes alive at the second one. */
export function cpuBetween(
  before: { cpuByPid: Map<number, number> },
  after: { cpuByPid: Map<number, number> },
): number {
  let sum = 0;
  for (const [pid, cpu] of after.cpuByPid) sum += cpu - (before.cpuByPid.get(pid) ?? 0);
  return sum;
}

/** Whole-machine busy and total jiffies, from the first line of /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
  const values = fields.map(Number);
  const idle = values[3]! + values[4]!;
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * One caller's ear, fed by bench/rtp-ear: every packet of the agent's PCMU it received, by the
 * kernel's receive time, so a gap is one on the wire and not this process being late to read it.
 */
export class CallerEar {
  /** Kernel receive times of every packet (ms since the epoch). */
  readonly arrivals: number[] = [];
  /** Kernel receive times of the packets with sound in them. */
  readonly soundAt: number[] = [];
  firstSoundAt: number | undefined;
  lost = 0;
  /** Longest the ear process took from the kernel's receipt to reading a packet, ms. */
  worstReadLagMs = 0;
  private lastSeq: number | undefined;

  constructor(readonly port: number) {}

  record(kernelMs: number, readMs: number, seq: number, sound: boolean): void {
    this.arrivals.push(kernelMs);
    this.worstReadLagMs = Math.max(this.worstReadLagMs, readMs - kernelMs);
    if (this.lastSeq !== undefined) this.lost += Math.max(0, ((seq - this.lastSeq) & 0xffff) - 1);
    this.lastSeq = seq;
    if (!sound) return;
    this.firstSoundAt ??= kernelMs;
    this.soundAt.push(kernelMs);
  }

  /** The first packet with sound after `t`, if any. */
  soundAfter(t: number): number | undefined {
    return this.soundAt.find((at) => at > t);
  }

  /** Largest gap between packets and packets per second in [from, to). */
  window(from: number, to: number): { maxGapMs: number; rate: number } {
    const inside = this.arrivals.filter((t) => t >= from && t < to);
    let maxGapMs = inside.length > 0 ? inside[0]! - from : to - from;
    for (let i = 1; i < inside.length; i += 1) {
      maxGapMs = Math.max(maxGapMs, inside[i]! - inside[i - 1]!);
    }
    if (inside.length > 0) maxGapMs = Math.max(maxGapMs, to - inside.at(-1)!);
    return { maxGapMs, rate: inside.length / ((to - from) / 1000) };
  }
}

const rtpEarSource = path.join(packageRoot(), 'bench', 'rtp-ear');
const rtpEarBinary = path.join(toolCacheRoot(), 'rtp-ear', 'rtp-ear');

/** Builds bench/rtp-ear (Go, standard library only) when its binary is missing or stale. */
function buildRtpEar(): void {
  const source = path.join(rtpEarSource, 'main.go');
  if (existsSync(rtpEarBinary) && statSync(rtpEarBinary).mtimeMs >= statSync(source).mtimeMs)
    return;
  execFileSync('go', ['build', '-o', rtpEarBinary, '.'], { cwd: rtpEarSource, stdio: 'inherit' });
}

/**
 * The callers of a run: one rtp-ear process with a socket per caller on 127.0.0.1, which sends
 * each caller's 20 ms of silence (as a phone does) once the agent's audio tells it where to.
 */
export class CallerEars {
  private constructor(
    private readonly child: ChildProcess,
    readonly ears: CallerEar[],
  ) {}

  static async open(count: number): Promise<CallerEars> {
    buildRtpEar();
    const child = spawn(rtpEarBinary, ['-ears', String(count)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const ports = await new Promise<number[]>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`rtp-ear exited ${code} before binding`)));
      lines.once('line', (line) => resolve(line.split(' ').slice(1).map(Number)));
    });
    const ears = ports.map((port) => new CallerEar(port));
    lines.on('line', (line) => {
      const [kind, ear, kernelMs, readMs, seq, sound] = line.split(' ');
      if (kind !== 'p') return;
      ears[Number(ear)]?.record(Number(kernelMs), Number(readMs), Number(seq), sound === '1');
    });
    return new CallerEars(child, ears);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}

export interface SippBatch {
  /** INVITE -> 200 OK per call, ms, from sipp's -trace_rtt (rtd="true" on the 200). */
  inviteTo200: () => number[];
  /** Per call: ms after sipp started that the INVITE went out (200 time minus its rtd). */
  inviteOffsets: () => number[];
  startedAt: number;
  done: Promise<{ code: number | null; stderr: string }>;
  stop(): void;
}

/**
 * `calls` calls with one sipp, test/sipp/uac-agent-call.xml with each call's RTP port (and
 * caller number) from an -inf CSV file, `rate` new calls per second.
 */
export function sippCalls(options: {
  host: string;
  port: number;
  number: string;
  rtpPorts: number[];
  holdMs: number;
  rate: number;
  /** Callers are +1555800NNNN from this number on (one identity per call in a shared room). */
  firstCaller?: number;
}): SippBatch {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-sipp-'));
  const scenario = readFileSync(path.join(packageRoot(), 'test/sipp/uac-agent-call.xml'), 'utf8')
    .replaceAll('[rtp_port]', '[field0]')
    .replaceAll('[caller]', '[field1]')
    .replaceAll('[hold_ms]', String(options.holdMs));
  writeFileSync(path.join(dir, 'scenario.xml'), scenario);
  const first = options.firstCaller ?? 0;
  const csv = options.rtpPorts.map((p, i) => `${p};+1555800${String(first + i).padStart(4, '0')}`);
  writeFileSync(path.join(dir, 'calls.csv'), ['SEQUENTIAL', ...csv, ''].join('\n'));
  const n = options.rtpPorts.length;
  const args = [
    `${options.host}:${options.port}`,
    '-sf',
    'scenario.xml',
    '-inf',
    'calls.csv',
    '-s',
    options.number,
    '-i',
    '127.0.0.1',
    '-p',
    '0',
    '-m',
    String(n),
    '-l',
    String(n),
    '-r',
    String(options.rate),
    '-timeout',
    `${Math.ceil(options.holdMs / 1000) + 60 + Math.ceil(n / options.rate)}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-trace_rtt',
    '-rtt_freq',
    '1',
  ];
  const startedAt = Date.now();
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5000)));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('exit', (code) => resolve({ code, stderr }));
    child.once('error', (error) => resolve({ code: -1, stderr: stderr + error.message }));
  });
  const rows = () => {
    const file = readdirSync(dir).find((f) => f.endsWith('_rtt.csv'));
    if (!file) return [];
    return readFileSync(path.join(dir, file), 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => line.split(';').map(Number) as [number, number, number]);
  };
  return {
    startedAt,
    inviteTo200: () => rows().map((r) => r[1]),
    inviteOffsets: () => rows().map((r) => r[0] - r[1]),
    done,
    stop: () => child.kill('SIGTERM'),
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
