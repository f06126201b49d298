import { readFile } from 'node:fs/promises';
import { AudioFrame, AudioResampler, type Room } from '@livekit/rtc-node';
import { publishAudioSource } from './audio-track.js';

/** The rate the music track is published at; a file of any other rate is resampled to it. */
export const HOLD_MUSIC_RATE = 48_000;
const FRAME = HOLD_MUSIC_RATE / 50; // 20 ms

export class HoldMusicError extends Error {
  constructor(file: string, problem: string) {
    super(`HOLD_MUSIC_FILE ${file}: ${problem}`);
    this.name = 'HoldMusicError';
  }
}

/** The built-in melody's notes, in Hz, in the order played. */
export const HOLD_MELODY_NOTES = [523.25, 659.25, 783.99, 659.25, 587.33, 698.46, 880.0, 698.46];

/**
 * The built-in music on hold: a slow, soft melody of sine tones (about 4 s, looped), so a gateway
 * needs no audio file. Each note fades in and out to avoid clicks.
 */
export function defaultHoldMelody(rate = HOLD_MUSIC_RATE): Int16Array {
  const notes = HOLD_MELODY_NOTES;
  const noteSamples = Math.round(rate * 0.45);
  const pause = Math.round(rate * 0.4);
  const out = new Int16Array(notes.length * noteSamples + pause);
  const fade = Math.round(rate * 0.04);
  notes.forEach((freq, n) => {
    for (let i = 0; i < noteSamples; i++) {
      const envelope = Math.min(1, i / fade, (noteSamples - i) / fade);
      const t = i / rate;
      const tone = Math.sin(2 * Math.PI * freq * t) + 0.3 * Math.sin(4 * Math.PI * freq * t);
      out[n * noteSamples + i] = Math.round(tone * envelope * 0.25 * 32767 * 0.77);
    }
  });
  return out;
}

interface WavFormat {
  format: number;
  channels: number;
  rate: number;
  bits: number;
}

/** Mono 16-bit samples of a RIFF WAV file (PCM 8/16/24/32-bit or 32-bit float). */
export function decodeWav(file: string, bytes: Buffer): { samples: Int16Array; rate: number } {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF') {
    throw new HoldMusicError(file, 'not a WAV file (no RIFF header)');
  }
  let fmt: WavFormat | undefined;
  let data: Buffer | undefined;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    const body = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + size));
    if (id === 'fmt ' && body.length >= 16) {
      fmt = {
        format: body.readUInt16LE(0),
        channels: body.readUInt16LE(2),
        rate: body.readUInt32LE(4),
        bits: body.readUInt16LE(14),
      };
      // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes.
      if (fmt.format === 0xfffe && body.length >= 26) fmt.format = body.readUInt16LE(24);
    } else if (id === 'data') {
      data = body;
    }
    at += 8 + size + (size % 2);
  }
  if (!fmt) throw new HoldMusicError(file, 'no fmt chunk');
  if (!data || data.length === 0) throw new HoldMusicError(file, 'no audio data');
  const pcm = fmt.format === 1 && [8, 16, 24, 32].includes(fmt.bits);
  const float = fmt.format === 3 && fmt.bits === 32;
  if (!pcm && !float) {
    throw new HoldMusicError(
      file,
      `unsupported encoding (format ${fmt.format}, ${fmt.bits} bits): use PCM or 32-bit float`,
    );
  }
  if (fmt.channels < 1 || fmt.rate < 8000 || fmt.rate > 192_000) {
    throw new HoldMusicError(file, `unsupported layout (${fmt.channels} channels, ${fmt.rate} Hz)`);
  }
  const width = fmt.bits / 8;
  const frames = Math.floor(data.length / (width * fmt.channels));
  const read = (offset: number): number => {
    if (float) return data.readFloatLE(offset);
    if (fmt.bits === 8) return (data.readUInt8(offset) - 128) / 128;
    if (fmt.bits === 16) return data.readInt16LE(offset) / 32768;
    if (fmt.bits === 24) return data.readIntLE(offset, 3) / 8_388_608;
    return data.readInt32LE(offset) / 2_147_483_648;
  };
  const samples = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let ch = 0; ch < fmt.channels; ch++) sum += read((i * fmt.channels + ch) * width);
    samples[i] = Math.max(-32768, Math.min(32767, Math.round((sum / fmt.channels) * 32767)));
  }
  return { samples, rate: fmt.rate };
}

/** Resamples mono 16-bit audio with rtc-node's AudioResampler. */
export function resampleMono(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples;
  const resampler = new AudioResampler(from, to, 1);
  try {
    const chunk = Math.round(from / 100); // 10 ms
    const out: Int16Array[] = [];
    for (let at = 0; at < samples.length; at += chunk) {
      const part = samples.slice(at, at + chunk);
      for (const f of resampler.push(new AudioFrame(part, from, 1, part.length))) out.push(f.data);
    }
    for (const f of resampler.flush()) out.push(f.data);
    const joined = new Int16Array(out.reduce((n, d) => n + d.length, 0));
    let pos = 0;
    for (const d of out) joined.set(d, (pos += d.length) - d.length);
    return joined;
  } finally {
    resampler.close();
  }
}

/** The music as mono samples at HOLD_MUSIC_RATE: the file's, or the built-in melody. */
export async function loadHoldMusic(file: string | undefined): Promise<Int16Array> {
  if (!file) return defaultHoldMelody();
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new HoldMusicError(file, `cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const { samples, rate } = decodeWav(file, bytes);
  return resampleMono(samples, rate, HOLD_MUSIC_RATE);
}

/**
 * Plays `music` in a loop on a track of its own until the returned stop() is called. The track
 * is unpublished on stop, so the caller hears the agent's own track alone again.
 */
export async function playHoldMusic(room: Room, music: Int16Array): Promise<() => Promise<void>> {
  const { source, close } = await publishAudioSource(room, 'hold-music', HOLD_MUSIC_RATE, 200);
  let playing = true;
  const loop = (async () => {
    for (let at = 0; playing; at = (at + FRAME) % music.length) {
      const chunk = new Int16Array(FRAME);
      for (let i = 0; i < FRAME; i++) chunk[i] = music[(at + i) % music.length]!;
      // captureFrame waits while the source's 200 ms queue is full: it paces the loop.
      await source.captureFrame(new AudioFrame(chunk, HOLD_MUSIC_RATE, 1, FRAME));
    }
  })().catch(() => undefined);
  return async () => {
    if (!playing) return;
    playing = false;
    source.clearQueue();
    await loop;
    await close().catch(() => undefined);
  };
}
