import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Test audio made by espeak-ng and sox: mono 16-bit samples at any rate.

function rawOf(rate: number, make: (raw: string, dir: string) => void): Int16Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-audio-'));
  try {
    const raw = path.join(dir, 'out.raw');
    make(raw, dir);
    const bytes = readFileSync(raw);
    const samples = new Int16Array(bytes.length >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
    return samples;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rawFormat = (rate: number) => ['-r', String(rate), '-c', '1', '-b', '16', '-e', 'signed'];

/** `text` spoken by espeak-ng (its own voice unless told), at `rate`. */
export function espeakSpeech(text: string, rate: number, voice = 'en-us'): Int16Array {
  return rawOf(rate, (raw, dir) => {
    const wav = path.join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', wav, '--', text]);
    execFileSync('sox', ['-V1', wav, ...rawFormat(rate), raw]);
  });
}

/** What `sox -n` synthesises with `synth` (two-tone pairs: `['sine', '697', 'sine', '1209']`). */
export function soxSynth(seconds: number, rate: number, synth: string[], volume = 0.4): Int16Array {
  const voices = synth.filter((s) => /^[a-z]/.test(s)).length;
  return rawOf(rate, (raw) => {
    // Each synth voice fills a channel of the null input; remix averages them into one.
    const remix =
      voices > 1 ? ['remix', Array.from({ length: voices }, (_, i) => i + 1).join(',')] : [];
    execFileSync('sox', [
      '-V1',
      ...['-r', String(rate), '-c', String(voices), '-n'],
      ...rawFormat(rate),
      ...['-t', 'raw', raw],
      ...['synth', String(seconds), ...synth, 'vol', String(volume), ...remix],
    ]);
  });
}

/** The DTMF pair of a key, `ms` long. */
export function dtmfTone(key: string, ms: number, rate: number): Int16Array {
  const keys = ['123A', '456B', '789C', '*0#D'];
  const row = keys.findIndex((k) => k.includes(key));
  if (row < 0) throw new Error(`not a DTMF key: ${key}`);
  const low = [697, 770, 852, 941][row]!;
  const high = [1209, 1336, 1477, 1633][keys[row]!.indexOf(key)]!;
  return soxSynth(ms / 1000, rate, ['sine', String(low), 'sine', String(high)], 0.5);
}

export function silence(ms: number, rate: number): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

export function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `a` with `b` added under it (looped), clipped to 16 bits. */
export function mixUnder(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) {
    out[i] = Math.max(-32768, Math.min(32767, a[i]! + b[i % b.length]!));
  }
  return out;
}

/** The same samples as 20 ms frames. */
export function frames20(samples: Int16Array, rate: number): Int16Array[] {
  const size = rate / 50;
  const out: Int16Array[] = [];
  for (let at = 0; at + size <= samples.length; at += size) out.push(samples.slice(at, at + size));
  return out;
}

/** Three sentences between silences, over soft pink noise (about 30 dB below the speech). */
export function speechScene(rate: number): { samples: Int16Array; sentences: string[] } {
  const sentences = [
    'I would like to change my appointment to next Tuesday afternoon.',
    'My account number is four five six seven.',
    'Could you tell me the opening hours please.',
  ];
  const parts: Int16Array[] = [silence(1500, rate)];
  for (const s of sentences) parts.push(espeakSpeech(s, rate), silence(1800, rate));
  const speech = concat(...parts);
  const noise = soxSynth(3, rate, ['pinknoise'], 0.02);
  return { samples: mixUnder(speech, noise), sentences };
}

/** Short and long replies of a caller in another espeak-ng voice, over soft white noise. */
export function repliesScene(rate: number, voice: string): { samples: Int16Array; count: number } {
  const replies = [
    'Hello, I need help with my bill.',
    'Yes.',
    'No, that is not what I said at all.',
    'Can you transfer me to a person',
    'Thank you very much, goodbye.',
  ];
  const parts: Int16Array[] = [silence(1000, rate)];
  for (const r of replies) parts.push(espeakSpeech(r, rate, voice), silence(1500, rate));
  const noise = soxSynth(3, rate, ['whitenoise'], 0.01);
  return { samples: mixUnder(concat(...parts), noise), count: replies.length };
}
