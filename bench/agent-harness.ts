import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { startAgentProcess } from '../test/helpers/agent-process.js';
import { ulawToLinear } from '../test/helpers/rtp-peer.js';
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

const PCMU = 0;
const SILENCE = Buffer.alloc(160, 0xff);

/**
 * A caller's ear and mouth: receives the agent's PCMU on 127.0.0.1, keeps every packet's arrival
 * time, and sends 20 ms of silence per tick (as a phone does) once it knows where to.
 */
export class CallerEar {
  readonly arrivals: number[] = [];
  /** Arrival times of the packets with sound in them. */
  readonly soundAt: number[] = [];
  firstSoundAt: number | undefined;
  lost = 0;
  private lastSeq: number | undefined;
  private remote: { address: string; port: number } | undefined;
  private seq = 0;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {
    socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
  }

  static async open(): Promise<CallerEar> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new CallerEar(socket, socket.address().port);
  }

  private onPacket(msg: Buffer, rinfo: dgram.RemoteInfo) {
    if (msg.length < 12 || (msg[0]! & 0xc0) !== 0x80 || (msg[1]! & 0x7f) !== PCMU) return;
    this.remote ??= { address: rinfo.address, port: rinfo.port };
    const now = Date.now();
    this.arrivals.push(now);
    const seq = msg.readUInt16BE(2);
    if (this.lastSeq !== undefined) this.lost += Math.max(0, ((seq - this.lastSeq) & 0xffff) - 1);
    this.lastSeq = seq;
    const payload = msg.subarray(12 + (msg[0]! & 0x0f) * 4);
    let sum = 0;
    for (const byte of payload) sum += ulawToLinear(byte) ** 2;
    if (Math.sqrt(sum / Math.max(1, payload.length)) <= 500) return;
    this.firstSoundAt ??= now;
    this.soundAt.push(now);
  }

  /** The first packet with sound after `t`, if any. */
  soundAfter(t: number): number | undefined {
    return this.soundAt.find((at) => at > t);
  }

  tick(): void {
    if (!this.remote) return;
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = PCMU;
    header.writeUInt16BE(this.seq & 0xffff, 2);
    header.writeUInt32BE((this.seq * 160) >>> 0, 4);
    header.writeUInt32BE(this.ssrc >>> 0, 8);
    this.seq += 1;
    this.socket.send(Buffer.concat([header, SILENCE]), this.remote.port, this.remote.address);
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

  close(): void {
    this.socket.close();
  }
}

/** One timer for all callers' outgoing silence (one setInterval per caller would be 100 timers). */
export function paceCallers(ears: CallerEar[]): () => void {
  const timer = setInterval(() => ears.forEach((e) => e.tick()), 20);
  return () => clearInterval(timer);
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
