import { FRAME_MS, SpeechDetector } from '../offline/speech-detector.js';
import { FrameCutter } from '../offline/frames.js';
import { PeakConcentration } from '../offline/spectrum.js';

/** Who answered an outbound call. */
export type AnsweredBy = 'human' | 'machine' | 'unknown';

export interface MachineDetectionTimings {
  /** Talking on longer than this, with no pause of `afterGreetingSilenceMs`, is a machine. */
  greetingMs: number;
  /** A pause this long after a short greeting ("Hello?") is a human waiting for an answer. */
  afterGreetingSilenceMs: number;
  /** Nothing said for this long from the answer: unknown (a machine may also wait). */
  initialSilenceMs: number;
  /** No verdict by then: unknown. */
  totalMs: number;
}

export const defaultMachineDetectionTimings: MachineDetectionTimings = {
  greetingMs: 1800,
  afterGreetingSilenceMs: 800,
  initialSilenceMs: 3500,
  totalMs: 6000,
};

const SAMPLE_RATE = 8000;

/**
 * Tells a human from an answering machine by the shape of what the callee says first, as
 * telephone AMD does: a person says something short and waits; a machine's greeting runs on.
 * Push the callee's 8 kHz audio from the answer on; a verdict comes once.
 */
export class MachineDetector {
  // Word gaps end "utterances" here, so a greeting is a run of them with short pauses between.
  readonly #speech = new SpeechDetector({
    sampleRate: SAMPLE_RATE,
    minSilenceMs: 200,
    minUtteranceMs: 100,
  });
  readonly #timings: MachineDetectionTimings;
  #clockMs = 0;
  #firstSpeechMs: number | undefined;
  #lastSpeechEndMs: number | undefined;
  #verdict: AnsweredBy | undefined;

  constructor(timings: Partial<MachineDetectionTimings> = {}) {
    this.#timings = { ...defaultMachineDetectionTimings, ...timings };
  }

  push(samples: Int16Array): AnsweredBy | undefined {
    if (this.#verdict) return this.#verdict;
    for (const event of this.#speech.push(samples)) {
      if (event.type === 'start') this.#firstSpeechMs ??= event.startMs;
      else this.#lastSpeechEndMs = event.endMs;
    }
    this.#clockMs += (samples.length / SAMPLE_RATE) * 1000;
    this.#verdict = this.#decide();
    return this.#verdict;
  }

  #decide(): AnsweredBy | undefined {
    const t = this.#timings;
    const now = this.#clockMs;
    if (this.#firstSpeechMs === undefined) {
      return now >= t.initialSilenceMs ? 'unknown' : undefined;
    }
    const talkingUntil = this.#speech.speaking ? now : (this.#lastSpeechEndMs ?? now);
    if (talkingUntil - this.#firstSpeechMs > t.greetingMs) return 'machine';
    if (!this.#speech.speaking && now - talkingUntil >= t.afterGreetingSilenceMs) return 'human';
    return now >= t.totalMs ? 'unknown' : undefined;
  }
}

export type GreetingEnd = 'beep' | 'silence' | 'timeout';

/**
 * After a machine's greeting: waits for its beep (a steady tone of at least `minBeepMs`, then
 * its end), or, for machines without one, for `silenceMs` of quiet after the last speech.
 */
export class BeepWaiter {
  readonly #peaks = new PeakConcentration((SAMPLE_RATE * FRAME_MS) / 1000);
  readonly #frames = new FrameCutter((SAMPLE_RATE * FRAME_MS) / 1000);
  #clockMs = 0;
  #toneMs = 0;
  #quietMs = 0;
  #end: GreetingEnd | undefined;

  constructor(
    private readonly options: { minBeepMs: number; silenceMs: number; maxWaitMs: number } = {
      minBeepMs: 120,
      silenceMs: 1500,
      maxWaitMs: 20_000,
    },
  ) {}

  push(samples: Int16Array): GreetingEnd | undefined {
    if (!this.#end) {
      this.#frames.push(samples, (frame) => {
        this.#end = this.#onFrame(frame);
        return this.#end !== undefined;
      });
    }
    return this.#end;
  }

  #onFrame(frame: Int16Array): GreetingEnd | undefined {
    this.#clockMs += FRAME_MS;
    let sum = 0;
    for (const x of frame) sum += x * x;
    const db = 10 * Math.log10(sum / frame.length / 1_073_741_824 + 1e-10);
    const loud = db > -40;
    const tone = loud && this.#peaks.measure(frame) > 0.99;
    if (tone) this.#toneMs += FRAME_MS;
    else if (this.#toneMs >= this.options.minBeepMs) return 'beep';
    else this.#toneMs = 0;
    this.#quietMs = db < -50 ? this.#quietMs + FRAME_MS : 0;
    if (this.#quietMs >= this.options.silenceMs) return 'silence';
    return this.#clockMs >= this.options.maxWaitMs ? 'timeout' : undefined;
  }
}
