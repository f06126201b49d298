import { FrameCutter } from './frames.js';
import { PeakConcentration } from './spectrum.js';

export const FRAME_MS = 20;
const PRE_EMPHASIS = 0.95;
const ONSET_GAP_MS = 100;

export interface SpeechDetectorOptions {
  /** Of the samples pushed: 8000 (phone audio) or 16000. */
  sampleRate: number;
  /** Silence that ends an utterance (the profile's endpointing.vad_silence_seconds). */
  minSilenceMs: number;
  /** Loud frames in a row before speech counts as begun (Silero's minSpeechDuration). */
  minSpeechMs?: number;
  /**
   * Utterances shorter than this are dropped, neither started nor ended: a cough, a click or a
   * key's tone is not something said (the offline script's rule: 400 ms).
   */
  minUtteranceMs?: number;
  /** A frame is loud when it is this far above the noise floor (hysteresis below while speaking). */
  onsetDb?: number;
  holdDb?: number;
  /** Frames quieter than this (dBFS) are never speech, however quiet the line. */
  minLevelDb?: number;
  /** Quiet time after the last loud frame still counted as speech (soft word endings). */
  hangoverMs?: number;
  /** Frames whose peak concentration passes this are tones or music, not speech. */
  maxPeakConcentration?: number;
}

export const defaultSpeechDetectorOptions = {
  minSpeechMs: 100,
  minUtteranceMs: 400,
  onsetDb: 10,
  holdDb: 6,
  hangoverMs: 80,
  minLevelDb: -55,
  maxPeakConcentration: 0.99,
} as const;

export type SpeechEvent =
  /** `startMs`: where the utterance began, in ms of audio pushed since the detector was made. */
  | { type: 'start'; startMs: number }
  | { type: 'end'; startMs: number; endMs: number; durationMs: number };

/** The noise floor: the quietest frame of the last second (minimum statistics), in dBFS. */
class NoiseFloor {
  static readonly BLOCK_FRAMES = 10;
  static readonly BLOCKS = 5;
  readonly #blocks: number[] = [];
  #current = Infinity;
  #frames = 0;

  push(db: number): void {
    this.#current = Math.min(this.#current, db);
    if (++this.#frames < NoiseFloor.BLOCK_FRAMES) return;
    this.#blocks.push(this.#current);
    if (this.#blocks.length > NoiseFloor.BLOCKS) this.#blocks.shift();
    this.#current = Infinity;
    this.#frames = 0;
  }

  get db(): number {
    let min = this.#current;
    for (const b of this.#blocks) if (b < min) min = b;
    return min;
  }
}

/**
 * A cheap detector of the caller's speech: frame energy against an adaptive noise floor, a
 * spectral check that turns away tones (DTMF, hold music), and Silero-like onset and silence
 * durations. Push mono 16-bit samples in any chunk size; it works on 20 ms frames.
 */
export class SpeechDetector {
  readonly #opts: Required<SpeechDetectorOptions>;
  readonly #frames: FrameCutter;
  readonly #floor = new NoiseFloor();
  readonly #peaks: PeakConcentration;
  /** Audio pushed so far, in ms, at the start of the next frame. */
  #clockMs = 0;
  /** Loud time of the onset under way (not yet speech), and where it began. */
  #loudRunMs = 0;
  #loudSinceMs = 0;
  #quietRunMs = 0;
  #speaking = false;
  #started = false;
  #startMs = 0;
  #lastLoudEndMs = 0;
  #lastSample = 0;

  constructor(options: SpeechDetectorOptions) {
    this.#opts = { ...defaultSpeechDetectorOptions, ...options };
    const frameSamples = (options.sampleRate * FRAME_MS) / 1000;
    if (!Number.isInteger(frameSamples)) {
      throw new Error(`sampleRate ${options.sampleRate} has no whole 20 ms frame`);
    }
    this.#frames = new FrameCutter(frameSamples);
    this.#peaks = new PeakConcentration(frameSamples);
  }

  /** True between an utterance's start event and its end event. */
  get speaking(): boolean {
    return this.#started;
  }

  push(samples: Int16Array): SpeechEvent[] {
    const events: SpeechEvent[] = [];
    this.#frames.push(samples, (frame) => {
      const event = this.#frame(frame);
      if (event) events.push(event);
    });
    return events;
  }

  /** Forgets any utterance under way (e.g. when listening stops); the noise floor stays. */
  reset(): void {
    this.#speaking = false;
    this.#started = false;
    this.#loudRunMs = 0;
    this.#quietRunMs = 0;
    this.#frames.reset();
  }

  #frame(frame: Int16Array): SpeechEvent | undefined {
    const o = this.#opts;
    const frameStart = this.#clockMs;
    this.#clockMs += FRAME_MS;
    // Energy after pre-emphasis (a first-order high-pass): the rumble of line and room noise
    // swings 10 dB from frame to frame below 300 Hz, speech's energy lies above it.
    let sum = 0;
    let previous = this.#lastSample;
    for (let i = 0; i < frame.length; i++) {
      const x = frame[i]!;
      const y = x - PRE_EMPHASIS * previous;
      previous = x;
      sum += y * y;
    }
    this.#lastSample = previous;
    const db = 10 * Math.log10(sum / frame.length / 1_073_741_824 + 1e-10);
    this.#floor.push(db);
    const threshold = Math.max(
      this.#floor.db + (this.#speaking ? o.holdDb : o.onsetDb),
      o.minLevelDb,
    );
    // The spectrum is paid for only when the frame is loud enough to be speech at all.
    const loud = db > threshold && this.#peaks.measure(frame) <= o.maxPeakConcentration;

    if (loud) {
      if (this.#loudRunMs === 0) this.#loudSinceMs = frameStart;
      this.#loudRunMs += FRAME_MS;
      this.#quietRunMs = 0;
      this.#lastLoudEndMs = this.#clockMs;
      if (!this.#speaking && this.#loudRunMs >= o.minSpeechMs) {
        this.#speaking = true;
        this.#startMs = this.#loudSinceMs;
      }
    } else {
      this.#quietRunMs += FRAME_MS;
      // Syllables dip between them: an onset survives a short gap, as Silero's smoothing does.
      if (!this.#speaking && this.#quietRunMs > ONSET_GAP_MS) this.#loudRunMs = 0;
    }
    if (!this.#speaking) return undefined;

    if (this.#quietRunMs > o.minSilenceMs) {
      const wasStarted = this.#started;
      this.#speaking = false;
      this.#started = false;
      this.#loudRunMs = 0;
      if (!wasStarted) return undefined;
      const endMs = this.#lastLoudEndMs + Math.min(o.hangoverMs, o.minSilenceMs);
      return { type: 'end', startMs: this.#startMs, endMs, durationMs: endMs - this.#startMs };
    }
    if (!this.#started && this.#lastLoudEndMs - this.#startMs >= o.minUtteranceMs) {
      this.#started = true;
      return { type: 'start', startMs: this.#startMs };
    }
    return undefined;
  }
}
