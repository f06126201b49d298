/**
 * In-band DTMF: key tones in the caller's audio, for providers that send no RFC 2833/4733
 * events. Goertzel filters at the eight DTMF frequencies over 8 kHz audio, with the checks of
 * ITU-T Q.24 that keep speech and music from passing for keys: a minimum level per tone, twist
 * (the two tones' level difference), each tone well above the other tones of its group, most of
 * the signal's power in the pair, a minimum duration and a gap between keys.
 *
 * Hand-written: no package in the project's dependencies does DTMF detection, and the npm ones
 * are unmaintained wrappers without the Q.24 checks; the filter is about sixty lines.
 */

const ROWS = [697, 770, 852, 941] as const;
const COLUMNS = [1209, 1336, 1477, 1633] as const;
const KEYS = ['123A', '456B', '789C', '*0#D'] as const;
/** Where the frequency check's side filters sit, as a share of the nominal frequency. */
const SIDE_OFFSET = 0.05;

export interface DtmfDetectorOptions {
  /** Of the samples pushed (the caller is heard at 8000). */
  sampleRate: number;
  /**
   * Samples per analysis window: 136 at 8 kHz (17 ms, filters 59 Hz wide). The classic 205
   * (39 Hz) refuses tones 1.5% off, which Q.24 says to accept; 136 accepts them and still
   * refuses 3.5% off, and lets a 40 ms tone fill three windows.
   */
  windowSamples?: number;
  /** A window is analysed every this many samples (10 ms at 8 kHz). */
  hopSamples?: number;
  /** Each tone at least this loud (dBFS of its sine's peak). */
  minToneDb?: number;
  /** The high (column) tone may be this much weaker than the low one (normal twist). */
  maxNormalTwistDb?: number;
  /** ... and this much stronger (reverse twist). */
  maxReverseTwistDb?: number;
  /** Each tone this far above every other tone of its group. */
  minRelativeDb?: number;
  /** The pair's share of the window's power. */
  minPairShare?: number;
  /** A key counts after this long (ms) of its tones; shorter is a click or a vowel. */
  minDurationMs?: number;
  /** A key ends after this long (ms) without it; the next key starts after. */
  minGapMs?: number;
}

export const defaultDtmfDetectorOptions = {
  minToneDb: -36,
  maxNormalTwistDb: 8,
  maxReverseTwistDb: 4,
  minRelativeDb: 10,
  minPairShare: 0.6,
  minDurationMs: 40,
  minGapMs: 30,
} as const;

const dbToPower = (db: number) => 10 ** (db / 10);

/** Goertzel power of `freq` over samples[0..n), as the mean power of the sine found (A²/2). */
export function tonePower(samples: Float32Array, n: number, coefficient: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = samples[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const magnitude2 = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return (2 * magnitude2) / (n * n);
}

function strongest(powers: number[]): { index: number; power: number; secondPower: number } {
  let index = 0;
  for (let i = 1; i < powers.length; i++) if (powers[i]! > powers[index]!) index = i;
  const secondPower = Math.max(...powers.filter((_, i) => i !== index));
  return { index, power: powers[index]!, secondPower };
}

/**
 * Feeds on the caller's frames; `push` returns the keys that began (each once, after its
 * minimum duration).
 */
export class DtmfDetector {
  readonly #window: Float32Array;
  readonly #hop: number;
  readonly #rate: number;
  readonly #rowCoefficients: number[];
  readonly #columnCoefficients: number[];
  readonly #o: Required<Omit<DtmfDetectorOptions, 'sampleRate' | 'windowSamples' | 'hopSamples'>>;
  readonly #minToneDuration: number;
  readonly #minGap: number;
  #filled = 0;
  /** The key the last windows heard, and for how many windows in a row. */
  #candidate: string | undefined;
  #candidateWindows = 0;
  /** The key reported and not yet ended, and windows since it was last heard. */
  #current: string | undefined;
  #missedWindows = 0;

  constructor(options: DtmfDetectorOptions) {
    const rate = options.sampleRate;
    this.#rate = rate;
    const size = options.windowSamples ?? Math.round((136 * rate) / 8000);
    this.#window = new Float32Array(size);
    this.#hop = options.hopSamples ?? Math.round(rate / 100);
    const coefficient = (f: number) => 2 * Math.cos((2 * Math.PI * f) / rate);
    this.#rowCoefficients = ROWS.map(coefficient);
    this.#columnCoefficients = COLUMNS.map(coefficient);
    this.#o = { ...defaultDtmfDetectorOptions, ...stripUndefined(options) };
    const hopMs = (this.#hop * 1000) / rate;
    const windowMs = (size * 1000) / rate;
    // A tone of minDurationMs fills (minDuration - window) / hop + 1 windows; partly filled
    // windows around it pass too, so one fewer is asked for.
    this.#minToneDuration = Math.max(1, Math.floor((this.#o.minDurationMs - windowMs) / hopMs) + 1);
    this.#minGap = Math.max(1, Math.round(this.#o.minGapMs / hopMs));
  }

  /** Samples of the caller's audio, any length; the keys that began in them. */
  push(samples: Int16Array): string[] {
    const keys: string[] = [];
    let at = 0;
    const size = this.#window.length;
    while (at < samples.length) {
      const take = Math.min(samples.length - at, size - this.#filled);
      for (let i = 0; i < take; i++) this.#window[this.#filled + i] = samples[at + i]! / 32768;
      this.#filled += take;
      at += take;
      if (this.#filled < size) break;
      const key = this.#step(this.#analyse());
      if (key) keys.push(key);
      // Slide by one hop: the rest of the window is kept for the next analysis.
      this.#window.copyWithin(0, this.#hop);
      this.#filled = size - this.#hop;
    }
    return keys;
  }

  reset(): void {
    this.#filled = 0;
    this.#candidate = undefined;
    this.#candidateWindows = 0;
    this.#current = undefined;
    this.#missedWindows = 0;
  }

  /** The key whose tones fill this window, if one does and passes every check. */
  #analyse(): string | undefined {
    const w = this.#window;
    const n = w.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += w[i]! * w[i]!;
    total /= n;
    const minTone = dbToPower(this.#o.minToneDb) / 2;
    if (total < 2 * minTone) return undefined;
    const row = strongest(this.#rowCoefficients.map((c) => tonePower(w, n, c)));
    const column = strongest(this.#columnCoefficients.map((c) => tonePower(w, n, c)));
    if (row.power < minTone || column.power < minTone) return undefined;
    if (row.power > column.power * dbToPower(this.#o.maxNormalTwistDb)) return undefined;
    if (column.power > row.power * dbToPower(this.#o.maxReverseTwistDb)) return undefined;
    const relative = dbToPower(this.#o.minRelativeDb);
    if (row.power < row.secondPower * relative) return undefined;
    if (column.power < column.secondPower * relative) return undefined;
    if (row.power + column.power < this.#o.minPairShare * total) return undefined;
    if (!this.#onFrequency(ROWS[row.index]!, row.power)) return undefined;
    if (!this.#onFrequency(COLUMNS[column.index]!, column.power)) return undefined;
    return KEYS[row.index]![column.index];
  }

  /**
   * Q.24's frequency tolerance: a tone 1.5% off is a key, 3.5% off is not. The filter at the
   * nominal frequency is compared with filters 5% below and above it: a tone more than half way
   * (2.5%) towards either is closer to it than to the key's frequency.
   */
  #onFrequency(nominal: number, power: number): boolean {
    const n = this.#window.length;
    const coefficient = (f: number) => 2 * Math.cos((2 * Math.PI * f) / this.#rate);
    return (
      power >= tonePower(this.#window, n, coefficient(nominal * (1 - SIDE_OFFSET))) &&
      power >= tonePower(this.#window, n, coefficient(nominal * (1 + SIDE_OFFSET)))
    );
  }

  /** One window's verdict into the key state: a key is reported once it lasted, once. */
  #step(heard: string | undefined): string | undefined {
    if (heard && heard === this.#candidate) this.#candidateWindows++;
    else {
      this.#candidate = heard;
      this.#candidateWindows = heard ? 1 : 0;
    }
    if (this.#current !== undefined) {
      if (heard === this.#current) {
        this.#missedWindows = 0;
        return undefined;
      }
      if (++this.#missedWindows < this.#minGap && heard === undefined) return undefined;
      // Gone long enough, or another key took its place.
      this.#current = undefined;
      this.#missedWindows = 0;
    }
    if (heard && this.#candidateWindows >= this.#minToneDuration) {
      this.#current = heard;
      return heard;
    }
    return undefined;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
