import { DtmfDetector } from '../offline/dtmf-detector.js';

/** The rate the detector runs at: the phone's, which its thresholds were tuned on. */
const DETECTOR_RATE = 8000;

/**
 * In-band DTMF on frames a mode already reads (the agents session's input, the bridge's 16 kHz
 * frames): brought down to 8 kHz by the mean of each `rate / 8000` samples, as the offline
 * listener does from 48 kHz, so the detector costs what it costs offline (about 12 us per 20 ms
 * frame). A phone caller's audio was 8 kHz G.711 before LiveKit SIP made it Opus: nothing above
 * 4 kHz folds back. A rate that is not a multiple of 8000 runs the detector at that rate.
 */
export class InbandKeys {
  readonly #onKey: (digit: string) => void;
  #detector: DtmfDetector | undefined;
  #rate = 0;
  #factor = 1;
  #out = new Int16Array(0);
  /** A decimation step split across two pushes: its sum and count so far. */
  #carrySum = 0;
  #carryCount = 0;

  constructor(onKey: (digit: string) => void) {
    this.#onKey = onKey;
  }

  /** Mono samples at `rate`, any length. */
  push(samples: Int16Array, rate: number): void {
    const detector = this.#detectorFor(rate);
    const factor = this.#factor;
    const keys =
      factor === 1 ? detector.push(samples) : detector.push(this.#decimate(samples, factor));
    for (const digit of keys) this.#onKey(digit);
  }

  /** After a gap in the audio (hold, a paused input): no half-heard key carries over. */
  reset(): void {
    this.#detector?.reset();
    this.#carrySum = 0;
    this.#carryCount = 0;
  }

  #detectorFor(rate: number): DtmfDetector {
    if (this.#detector && rate === this.#rate) return this.#detector;
    this.#rate = rate;
    this.#factor = rate % DETECTOR_RATE === 0 ? rate / DETECTOR_RATE : 1;
    this.#carrySum = 0;
    this.#carryCount = 0;
    this.#detector = new DtmfDetector({ sampleRate: this.#factor === 1 ? rate : DETECTOR_RATE });
    return this.#detector;
  }

  #decimate(samples: Int16Array, factor: number): Int16Array {
    const most = Math.ceil((samples.length + this.#carryCount) / factor);
    if (this.#out.length < most) this.#out = new Int16Array(most);
    let n = 0;
    let sum = this.#carrySum;
    let count = this.#carryCount;
    for (let i = 0; i < samples.length; i++) {
      sum += samples[i]!;
      if (++count === factor) {
        this.#out[n++] = Math.round(sum / factor);
        sum = 0;
        count = 0;
      }
    }
    this.#carrySum = sum;
    this.#carryCount = count;
    return this.#out.subarray(0, n);
  }
}
