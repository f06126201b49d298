/**
 * How much of a frame's energy sits in its three strongest spectral peaks (0..1). A pure tone,
 * a DTMF pair or a sine melody scores above 0.99; speech, even a held vowel, spreads its energy
 * over many harmonics and formants and scores lower (espeak-ng speech: 0.2 to 0.98).
 */
export class PeakConcentration {
  readonly #size: number;
  readonly #window: Float64Array;
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;
  readonly #bitReverse: Uint32Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;
  readonly #power: Float64Array;
  readonly #used: Uint8Array;

  /** For frames of `frameSamples` samples; the FFT is the next power of two. */
  constructor(frameSamples: number) {
    let size = 1;
    while (size < frameSamples) size <<= 1;
    this.#size = size;
    this.#window = new Float64Array(frameSamples);
    for (let i = 0; i < frameSamples; i++) {
      this.#window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frameSamples - 1));
    }
    this.#cos = new Float64Array(size / 2);
    this.#sin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.#cos[k] = Math.cos((-2 * Math.PI * k) / size);
      this.#sin[k] = Math.sin((-2 * Math.PI * k) / size);
    }
    this.#bitReverse = new Uint32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.#bitReverse[i] = r;
    }
    this.#re = new Float64Array(size);
    this.#im = new Float64Array(size);
    this.#power = new Float64Array(size / 2);
    this.#used = new Uint8Array(size / 2);
  }

  /** Power spectrum of the Hann-windowed frame, bins 0..size/2-1 (exposed for tests). */
  powerSpectrum(frame: Int16Array): Float64Array {
    const re = this.#re;
    const im = this.#im;
    re.fill(0);
    im.fill(0);
    const n = Math.min(frame.length, this.#window.length);
    for (let i = 0; i < n; i++) re[this.#bitReverse[i]!] = frame[i]! * this.#window[i]!;
    const size = this.#size;
    for (let len = 2; len <= size; len <<= 1) {
      const half = len >> 1;
      const step = size / len;
      for (let start = 0; start < size; start += len) {
        for (let k = 0; k < half; k++) {
          const wr = this.#cos[k * step]!;
          const wi = this.#sin[k * step]!;
          const a = start + k;
          const b = a + half;
          const xr = re[b]! * wr - im[b]! * wi;
          const xi = re[b]! * wi + im[b]! * wr;
          re[b] = re[a]! - xr;
          im[b] = im[a]! - xi;
          re[a] = re[a]! + xr;
          im[a] = im[a]! + xi;
        }
      }
    }
    for (let k = 0; k < size / 2; k++) this.#power[k] = re[k]! ** 2 + im[k]! ** 2;
    return this.#power;
  }

  measure(frame: Int16Array): number {
    const power = this.powerSpectrum(frame);
    const bins = power.length;
    const used = this.#used;
    used.fill(0);
    // Bins 0-1 hold DC and hum; a Hann window's main lobe spans about +-2 bins of this FFT.
    let total = 0;
    for (let k = 2; k < bins; k++) total += power[k]!;
    if (total <= 0) return 0;
    let peaks = 0;
    for (let t = 0; t < 3; t++) {
      let best = -1;
      for (let k = 2; k < bins; k++)
        if (!used[k] && (best < 0 || power[k]! > power[best]!)) best = k;
      if (best < 0) break;
      for (let k = Math.max(2, best - 2); k <= Math.min(bins - 1, best + 2); k++) {
        if (!used[k]) {
          peaks += power[k]!;
          used[k] = 1;
        }
      }
    }
    return peaks / total;
  }
}
