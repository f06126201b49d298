/**
 * Cuts audio pushed in any chunk size into whole frames of `size` samples, carrying the rest
 * over to the next push. The frame handed on is reused: copy it to keep it.
 */
export class FrameCutter {
  readonly #frame: Int16Array;
  #filled = 0;

  constructor(size: number) {
    this.#frame = new Int16Array(size);
  }

  /** Calls `onFrame` for each whole frame; it returns true to stop (the rest is dropped). */
  push(samples: Int16Array, onFrame: (frame: Int16Array) => boolean | void): void {
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(this.#frame.length - this.#filled, samples.length - at);
      this.#frame.set(samples.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled < this.#frame.length) return;
      this.#filled = 0;
      if (onFrame(this.#frame)) return;
    }
  }

  /** Forgets a part-filled frame. */
  reset(): void {
    this.#filled = 0;
  }
}
