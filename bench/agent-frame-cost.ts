import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VADEventType, initializeLogger } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { AudioFrame, AudioResampler, AudioResamplerQuality } from '@livekit/rtc-node';
import { PHONE_VAD_SILENCE_MS } from '../src/agent/voice-session.js';

const FRAME_MS = 20;

/** Real speech from espeak-ng as mono 16-bit PCM at `rate`, repeated to about `seconds`. */
function speechPcm(rate: number, seconds: number): Int16Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-speech-'));
  try {
    const wav = path.join(dir, 'speech.wav');
    const raw = path.join(dir, 'speech.raw');
    execFileSync('espeak-ng', [
      '-w',
      wav,
      '-s',
      '150',
      '--',
      'Hello, I would like to change my appointment to next Tuesday afternoon. ' +
        'My account number is four five six seven. Could you also tell me the opening hours?',
    ]);
    execFileSync('sox', [
      '-V1',
      wav,
      '-r',
      String(rate),
      '-c',
      '1',
      '-b',
      '16',
      '-e',
      'signed',
      raw,
    ]);
    const once = new Int16Array(new Uint8Array(readFileSync(raw)).buffer);
    const out = new Int16Array(Math.ceil((seconds * rate) / once.length) * once.length);
    for (let at = 0; at < out.length; at += once.length) out.set(once, at);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function framesOf(pcm: Int16Array, rate: number): AudioFrame[] {
  const size = (rate * FRAME_MS) / 1000;
  const frames: AudioFrame[] = [];
  for (let at = 0; at + size <= pcm.length; at += size) {
    frames.push(new AudioFrame(pcm.slice(at, at + size), rate, 1, size));
  }
  return frames;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export interface FrameCost {
  label: string;
  /** CPU time per 20 ms frame, microseconds. */
  perFrameUs: number;
  /** CPU time / audio time. */
  realTimeFraction: number;
}

function resampleCost(
  frames: AudioFrame[],
  outRate: number,
  quality: AudioResamplerQuality,
  label: string,
): FrameCost {
  const resampler = new AudioResampler(48000, outRate, 1, quality);
  // Warm up (allocations, JIT) outside the measurement.
  for (const frame of frames.slice(0, 50)) resampler.push(frame);
  const start = cpuMs();
  let out = 0;
  for (const frame of frames) out += resampler.push(frame).length;
  out += resampler.flush().length;
  const cpu = cpuMs() - start;
  if (out === 0) throw new Error(`resampler ${label} produced no frames`);
  return {
    label,
    perFrameUs: (cpu * 1000) / frames.length,
    realTimeFraction: cpu / (frames.length * FRAME_MS),
  };
}

async function vadCost(
  frames: AudioFrame[],
  rate: 8000 | 16000,
): Promise<FrameCost & { speechEvents: number }> {
  const vad = await silero.VAD.load({
    sampleRate: rate,
    minSilenceDuration: PHONE_VAD_SILENCE_MS,
    minSpeechDuration: 100,
  });
  const stream = vad.stream();
  const start = cpuMs();
  for (const frame of frames) stream.pushFrame(frame);
  // Silero infers on 32 ms windows (256 samples at 8 kHz, 512 at 16 kHz). endInput() throws in
  // agents 1.9 (its writer holds the lock), so read until the last full window's inference.
  const expected = Math.floor((frames.length * FRAME_MS) / 32) - 1;
  let speechEvents = 0;
  let inferences = 0;
  const deadline = Date.now() + 180_000;
  while (inferences < expected && Date.now() < deadline) {
    const { done, value: event } = await stream.next();
    if (done) break;
    if (event.type === VADEventType.START_OF_SPEECH) speechEvents += 1;
    if (event.type === VADEventType.INFERENCE_DONE) inferences += 1;
  }
  const cpu = cpuMs() - start;
  stream.close();
  if (inferences < expected)
    throw new Error(`VAD at ${rate} Hz ran ${inferences} of ${expected} inferences`);
  return {
    label: `Silero VAD at ${rate / 1000} kHz`,
    perFrameUs: (cpu * 1000) / frames.length,
    realTimeFraction: cpu / (frames.length * FRAME_MS),
    speechEvents,
  };
}

/**
 * CPU time per 20 ms frame of the live path: rtc-node resampling 48 kHz -> 8/16 kHz at LOW and
 * the default (MEDIUM) quality, and Silero VAD inference on real speech, as a fraction of real time.
 */
export async function agentFrameCost(seconds = 60) {
  // 'error': pushing faster than real time makes the VAD warn that it is behind, as intended.
  initializeLogger({ pretty: false, level: 'error' });
  const at48 = framesOf(speechPcm(48000, seconds), 48000);
  const configs = [8000, 16000].flatMap((outRate) =>
    (
      [
        ['LOW', AudioResamplerQuality.LOW],
        ['MEDIUM (default)', AudioResamplerQuality.MEDIUM],
      ] as const
    ).map(([name, quality]) => ({ outRate, quality, label: `48k -> ${outRate / 1000}k ${name}` })),
  );
  // Interleaved rounds, median of each: the machine is shared, so one slow moment must not
  // land on a single configuration.
  const rounds: FrameCost[][] = configs.map(() => []);
  for (let round = 0; round < 5; round += 1) {
    configs.forEach((c, i) => rounds[i]!.push(resampleCost(at48, c.outRate, c.quality, c.label)));
  }
  const resample = rounds.map((costs) => {
    const sorted = [...costs].sort((a, b) => a.perFrameUs - b.perFrameUs);
    return sorted[Math.floor(sorted.length / 2)]!;
  });
  const vad = [
    await vadCost(framesOf(speechPcm(8000, seconds), 8000), 8000),
    await vadCost(framesOf(speechPcm(16000, seconds), 16000), 16000),
  ];
  return { seconds: (at48.length * FRAME_MS) / 1000, resample, vad };
}

export function printFrameCost(cost: Awaited<ReturnType<typeof agentFrameCost>>): void {
  console.log(
    `\nAgent live path, CPU per 20 ms frame (${cost.seconds.toFixed(0)} s of espeak-ng speech, one core)`,
  );
  console.log(`${'stage'.padEnd(28)} ${'us/frame'.padStart(9)} ${'x real time'.padStart(12)}`);
  const line = (c: FrameCost) =>
    console.log(
      `${c.label.padEnd(28)} ${c.perFrameUs.toFixed(1).padStart(9)} ${c.realTimeFraction.toFixed(5).padStart(12)}`,
    );
  cost.resample.forEach(line);
  for (const outRate of ['8k', '16k']) {
    const [low, medium] = cost.resample.filter((c) => c.label.includes(`-> ${outRate} `));
    console.log(
      `  48k -> ${outRate}: LOW costs ${(low!.perFrameUs / medium!.perFrameUs).toFixed(2)} of MEDIUM`,
    );
  }
  cost.vad.forEach(line);
  const [vad8, vad16] = cost.vad;
  console.log(
    `  VAD 8 kHz costs ${(vad8!.perFrameUs / vad16!.perFrameUs).toFixed(2)} of 16 kHz; ` +
      `one core runs ${(1 / vad8!.realTimeFraction).toFixed(0)} callers' 8 kHz VAD in real time`,
  );
}
