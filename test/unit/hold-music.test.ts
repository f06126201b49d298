import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HOLD_MUSIC_RATE,
  HoldMusicError,
  defaultHoldMelody,
  loadHoldMusic,
} from '../../src/agent/hold-music.js';

// HOLD_MUSIC_FILE: WAV files made by sox, read and resampled to the music track's rate.

const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-hold-music-'));
afterAll(() => dispose());

function tone(name: string, args: string[]): string {
  const file = path.join(dir, name);
  execFileSync('sox', ['-n', ...args, file, 'synth', '1', 'sine', '440', 'vol', '0.5']);
  return file;
}

/** Sign changes per second: twice the frequency of a pure tone. */
function crossingsPerSecond(samples: Int16Array): number {
  let n = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) n++;
  return n / (samples.length / HOLD_MUSIC_RATE);
}

describe('music on hold', () => {
  it('resamples a 44.1 kHz stereo file and an 8 kHz 24-bit mono file to 48 kHz, keeping the pitch', async () => {
    for (const [name, args] of [
      ['cd.wav', ['-r', '44100', '-c', '2', '-b', '16']],
      ['phone.wav', ['-r', '8000', '-c', '1', '-b', '24']],
    ] as const) {
      const music = await loadHoldMusic(tone(name, [...args]));
      expect(Math.abs(music.length - HOLD_MUSIC_RATE)).toBeLessThan(HOLD_MUSIC_RATE * 0.01);
      expect(crossingsPerSecond(music)).toBeGreaterThan(860);
      expect(crossingsPerSecond(music)).toBeLessThan(900);
    }
  });

  it('names the file and the problem when it is not usable', async () => {
    const text = path.join(dir, 'notes.wav');
    writeFileSync(text, 'not audio at all');
    await expect(loadHoldMusic(text)).rejects.toThrow(HoldMusicError);
    await expect(loadHoldMusic(text)).rejects.toThrow(`${text}: not a WAV file`);
    await expect(loadHoldMusic(path.join(dir, 'missing.wav'))).rejects.toThrow(/cannot be read/);
  });

  it('plays a non-silent built-in melody when no file is set', async () => {
    const music = await loadHoldMusic(undefined);
    expect(music).toEqual(defaultHoldMelody());
    const rms = Math.sqrt(music.reduce((sum, s) => sum + s * s, 0) / music.length);
    expect(rms).toBeGreaterThan(2000);
    expect(music.length / HOLD_MUSIC_RATE).toBeGreaterThan(3);
  });
});
