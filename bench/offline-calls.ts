import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { packageRoot } from '../src/config/paths.js';
import { joinRoom, type AudioParticipant } from '../test/helpers/audio-participant.js';
import { concat, espeakSpeech, silence } from '../test/helpers/speech-audio.js';

const RATE = 48_000;

interface HostSample {
  cpuUs: number;
  rss: number;
  heard: number;
  said: number;
}

export interface OfflineCallCost {
  mode: 'talker' | 'session' | 'bare';
  calls: number;
  /** CPU of the host process per call, percent of one core. */
  cpuPerCallPct: number;
  rssMiB: number;
  /** Utterances the host heard and prompts it started, over the measured window. */
  heard: number;
  said: number;
}

/**
 * `calls` callers (rtc-node participants in this process) each say a sentence every ~9 s, and
 * one host process (bench/offline-host.ts) answers all of them as OfflineTalkers or as
 * AgentSessions; the host's own CPU over `seconds` after a warm-up is what is reported.
 */
export async function offlineCallCost(
  stack: { livekitWsUrl: string; apiKey: string; apiSecret: string },
  mode: 'talker' | 'session' | 'bare',
  calls: number,
  seconds: number,
): Promise<OfflineCallCost> {
  const prefix = `offline-bench-${mode}-${randomBytes(3).toString('hex')}-`;
  const callers: AudioParticipant[] = [];
  for (let n = 0; n < calls; n++) {
    callers.push(await joinRoom(stack, `${prefix}${n}`, 'caller', { publishRate: RATE }));
  }
  const sentence = espeakSpeech('I would like to change my appointment to next Tuesday.', RATE);
  let talking = true;
  const loops = callers.map(async (caller, n) => {
    // Staggered, so the callers do not all talk at once.
    await caller.play(silence(300 + ((n * 900) % 9000), RATE), RATE);
    while (talking) await caller.play(concat(sentence, silence(6000, RATE)), RATE);
  });

  // BENCH_OFFLINE_NODE_ARGS: extra node flags for the host (e.g. --cpu-prof to see where it goes).
  const nodeArgs = (process.env.BENCH_OFFLINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const host = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/offline-host.ts'], {
    cwd: packageRoot(),
    env: {
      ...process.env,
      LIVEKIT_URL: stack.livekitWsUrl,
      LIVEKIT_API_KEY: stack.apiKey,
      LIVEKIT_API_SECRET: stack.apiSecret,
      OFFLINE_ROOM_PREFIX: prefix,
      OFFLINE_CALLS: String(calls),
      OFFLINE_MODE: mode,
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let latest: HostSample | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: host.stdout! }).on('line', (line) => {
    // rtc-node logs JSON lines of its own on the same stdout.
    let msg: Partial<HostSample> & { ready?: boolean };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    if (msg.ready) ready();
    else if (typeof msg.cpuUs === 'number') latest = msg as HostSample;
  });
  try {
    await Promise.race([
      isReady,
      new Promise((_, reject) => setTimeout(() => reject(new Error('host not ready')), 300_000)),
    ]);
    await new Promise((r) => setTimeout(r, 10_000));
    const first = latest!;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const last = latest!;
    const elapsedUs = (Date.now() - t0) * 1000;
    return {
      mode,
      calls,
      cpuPerCallPct: ((last.cpuUs - first.cpuUs) / elapsedUs / calls) * 100,
      rssMiB: last.rss / 1024 / 1024,
      heard: last.heard - first.heard,
      said: last.said - first.said,
    };
  } finally {
    host.kill('SIGTERM');
    talking = false;
    await Promise.all(loops);
    for (const c of callers) await c.leave();
  }
}

export function printOfflineCallCost(results: OfflineCallCost[]): void {
  console.log('\nOffline calls in one process: host CPU per call (% of a core) and RSS');
  console.log(
    `${'host'.padEnd(24)} ${'calls'.padStart(5)} ${'CPU/call'.padStart(9)} ${'RSS MiB'.padStart(8)} ` +
      `${'heard'.padStart(6)} ${'said'.padStart(5)}`,
  );
  for (const r of results) {
    const label = {
      talker: 'OfflineTalker',
      session: 'AgentSession + Silero',
      bare: 'bare participant',
    }[r.mode];
    console.log(
      `${label.padEnd(24)} ${String(r.calls).padStart(5)} ${r.cpuPerCallPct.toFixed(2).padStart(8)}% ` +
        `${r.rssMiB.toFixed(0).padStart(8)} ${String(r.heard).padStart(6)} ${String(r.said).padStart(5)}`,
    );
  }
  const talker = results.find((r) => r.mode === 'talker');
  const session = results.find((r) => r.mode === 'session');
  const bare = results.find((r) => r.mode === 'bare');
  if (talker && bare) {
    console.log(
      `  a bare participant costs ${(bare.cpuPerCallPct / talker.cpuPerCallPct).toFixed(2)} of an ` +
        `OfflineTalker's CPU per call: the offline agent's capacity ratio by CPU`,
    );
  }
  if (talker && session) {
    console.log(
      `  an OfflineTalker costs ${(talker.cpuPerCallPct / session.cpuPerCallPct).toFixed(2)} of an ` +
        `AgentSession's CPU per call (${(session.cpuPerCallPct / talker.cpuPerCallPct).toFixed(1)}x less)`,
    );
  }
}
