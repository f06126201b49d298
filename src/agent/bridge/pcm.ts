/** 16-bit little-endian PCM <-> Int16Array, independent of the host's byte order. */
export function pcmToBase64(samples: Int16Array): string {
  const bytes = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i += 1) bytes.writeInt16LE(samples[i]!, i * 2);
  return bytes.toString('base64');
}

export function pcmFromBytes(bytes: Buffer): Int16Array {
  const samples = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < samples.length; i += 1) samples[i] = bytes.readInt16LE(i * 2);
  return samples;
}

/** Collects samples and hands them out in frames of exactly `frameSamples`. */
export class FrameChopper {
  private pending: Int16Array;
  private filled = 0;

  constructor(private readonly frameSamples: number) {
    this.pending = new Int16Array(frameSamples);
  }

  push(samples: Int16Array): Int16Array[] {
    const frames: Int16Array[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.frameSamples - this.filled, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSamples) {
        frames.push(this.pending);
        this.pending = new Int16Array(this.frameSamples);
        this.filled = 0;
      }
    }
    return frames;
  }

  /** The last partial frame, padded with silence; undefined when nothing is pending. */
  flush(): Int16Array | undefined {
    if (this.filled === 0) return undefined;
    const frame = this.pending;
    this.pending = new Int16Array(this.frameSamples);
    this.filled = 0;
    return frame;
  }
}
