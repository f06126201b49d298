import { VADEventType, initializeLogger } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { AudioFrame } from '@livekit/rtc-node';
import { SpeechDetector } from '../../src/agent/offline/index.js';
import { frames20 } from './speech-audio.js';

// The offline detector and Silero VAD on the same samples: what each hears, and what it costs.

export interface Utterance {
  startMs: number;
  endMs: number;
}

export interface DetectorRun {
  utterances: Utterance[];
  /** CPU time (user + system) per 20 ms frame, microseconds. */
  cpuPerFrameUs: number;
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export function runSpeechDetector(
  samples: Int16Array,
  rate: number,
  minSilenceMs: number,
  minUtteranceMs = 0,
): DetectorRun {
  const frames = frames20(samples, rate);
  const detector = new SpeechDetector({ sampleRate: rate, minSilenceMs, minUtteranceMs });
  const utterances: Utterance[] = [];
  const start = cpuUs();
  for (const frame of frames) {
    for (const e of detector.push(frame)) {
      if (e.type === 'end') utterances.push({ startMs: e.startMs, endMs: e.endMs });
    }
  }
  return { utterances, cpuPerFrameUs: (cpuUs() - start) / frames.length };
}

/** One model per rate, loaded once per process. */
const models = new Map<number, Promise<silero.VAD>>();

/**
 * Silero as the agents use it (job.ts: minSpeechDuration 100 ms), its boundaries from the
 * events' stream time: start = timestamp - speechDuration, end = timestamp - silenceDuration.
 */
export async function runSilero(
  samples: Int16Array,
  rate: 8000 | 16000,
  minSilenceMs: number,
): Promise<DetectorRun> {
  initializeLogger({ pretty: false, level: 'error' });
  if (!models.has(rate)) {
    const load = silero.VAD.load({
      sampleRate: rate,
      minSilenceDuration: minSilenceMs,
      minSpeechDuration: 100,
    }) as Promise<silero.VAD>;
    models.set(rate, load);
  }
  const vad = await models.get(rate)!;
  vad.updateOptions({ minSilenceDuration: minSilenceMs });
  const frames = frames20(samples, rate);
  // Silence after the last frame, so the last utterance ends inside the run.
  const tail = frames20(new Int16Array(rate), rate);
  const stream = vad.stream();
  const utterances: Utterance[] = [];
  const start = cpuUs();
  for (const f of [...frames, ...tail]) stream.pushFrame(new AudioFrame(f, rate, 1, f.length));
  // Silero infers on 32 ms windows at either rate.
  const windowMs = 32;
  const expected = Math.floor(((frames.length + tail.length) * 20) / windowMs) - 1;
  let inferences = 0;
  let open: number | undefined;
  const deadline = Date.now() + 120_000;
  while (inferences < expected && Date.now() < deadline) {
    const { done, value: e } = await stream.next();
    if (done) break;
    if (e.type === VADEventType.INFERENCE_DONE) inferences += 1;
    else if (e.type === VADEventType.START_OF_SPEECH) open = e.timestamp - e.speechDuration;
    else if (e.type === VADEventType.END_OF_SPEECH && open !== undefined) {
      utterances.push({ startMs: open, endMs: e.timestamp - e.silenceDuration });
      open = undefined;
    }
  }
  const cpu = cpuUs() - start;
  stream.close();
  if (inferences < expected) throw new Error(`Silero ran ${inferences} of ${expected} inferences`);
  return { utterances, cpuPerFrameUs: cpu / frames.length };
}
