/**
 * PCM helpers shared by the stand-in servers for paid cloud AI APIs (used only by tests): make
 * deterministic speech-like audio and measure audio they receive.
 */

/** 16-bit mono PCM of a 220 Hz tone, `seconds` long: what stand-in TTS servers "speak". */
export function tonePcm(seconds: number, sampleRate: number): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / sampleRate)), i * 2);
  }
  return pcm;
}

export interface Wav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Interleaved 16-bit samples. */
  samples: Int16Array;
}

/** Reads a PCM WAV file, walking its chunks (espeak-ng and the plugins write different headers). */
export function parseWav(file: Buffer): Wav {
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let format: Omit<Wav, 'samples'> | undefined;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (file.readUInt16LE(body) !== 1) throw new Error('WAV is not linear PCM');
      format = {
        channels: file.readUInt16LE(body + 2),
        sampleRate: file.readUInt32LE(body + 4),
        bitsPerSample: file.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before fmt chunk');
      if (format.bitsPerSample !== 16) throw new Error('WAV is not 16-bit');
      // espeak-ng streams to stdout-like files and may leave the size at 0x7fffffff.
      const end = Math.min(body + size, file.length);
      return { ...format, samples: pcm16(file.subarray(body, end)) };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}

/** Copies little-endian 16-bit PCM bytes into an aligned Int16Array. */
export function pcm16(bytes: Buffer): Int16Array {
  const samples = new Int16Array(Math.floor(bytes.length / 2));
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  return samples;
}

/** RMS of one 10 ms window above which audio counts as voiced (about -36 dBFS). */
export const VOICE_RMS = 500;

/** Whether each 10 ms window of mono `samples` is voiced. */
export function voicedWindows(samples: Int16Array, sampleRate: number): boolean[] {
  const size = Math.max(1, Math.round(sampleRate / 100));
  const windows: boolean[] = [];
  for (let start = 0; start + size <= samples.length; start += size) {
    let sum = 0;
    for (let i = start; i < start + size; i++) sum += samples[i]! * samples[i]!;
    windows.push(Math.sqrt(sum / size) > VOICE_RMS);
  }
  return windows;
}

/** Seconds from the first to the end of the last voiced 10 ms window, or undefined if silent. */
export function speechSpan(
  samples: Int16Array,
  sampleRate: number,
): { start: number; end: number } | undefined {
  const windows = voicedWindows(samples, sampleRate);
  const first = windows.indexOf(true);
  if (first < 0) return undefined;
  const last = windows.lastIndexOf(true);
  return { start: first / 100, end: (last + 1) / 100 };
}
