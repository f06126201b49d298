import { describe, expect, it } from 'vitest';
import { InbandKeys } from '../../src/agent/call-lifecycle/inband-keys.js';
import { concat, dtmfTone, espeakSpeech, silence } from '../helpers/speech-audio.js';

// In-band DTMF on the frames the pipeline (24 kHz) and bridge (16 kHz) modes read: brought down
// to the detector's 8 kHz, in chunks that do not split evenly, the keys still come out once.

const KEYS = '15#0*9';

/** The keys heard in `samples` at `rate`, pushed `chunk` samples at a time. */
function heard(samples: Int16Array, rate: number, chunk: number): string {
  const keys: string[] = [];
  const listener = new InbandKeys((digit) => keys.push(digit));
  for (let at = 0; at < samples.length; at += chunk) {
    listener.push(samples.subarray(at, at + chunk), rate);
  }
  return keys.join('');
}

const pressed = (rate: number) =>
  concat(...[...KEYS].flatMap((k) => [dtmfTone(k, 100, rate), silence(100, rate)]));

describe('in-band keys at the modes rates', () => {
  for (const rate of [16_000, 24_000, 48_000]) {
    it(`hears each key once at ${rate} Hz, in 20 ms frames and in odd chunks`, () => {
      const samples = pressed(rate);
      expect(heard(samples, rate, rate / 50)).toBe(KEYS);
      expect(heard(samples, rate, 317)).toBe(KEYS);
    });
  }

  it('hears no key in espeak-ng speech at 16 and 24 kHz', () => {
    for (const rate of [16_000, 24_000]) {
      const speech = espeakSpeech(
        'One, two, five. Please give me the sales department, nine nine. Star, hash, zero.',
        rate,
      );
      expect(heard(speech, rate, rate / 50)).toBe('');
    }
  });

  it('runs the detector at the rate itself when the rate is not a multiple of 8 kHz', () => {
    expect(heard(pressed(22_050), 22_050, 441)).toBe(KEYS);
  });

  it('forgets a half-heard key on reset', () => {
    const rate = 16_000;
    const keys: string[] = [];
    const listener = new InbandKeys((digit) => keys.push(digit));
    const tone = dtmfTone('5', 100, rate);
    listener.push(tone.subarray(0, 320), rate); // 20 ms: not a key yet
    listener.reset();
    listener.push(silence(200, rate), rate);
    expect(keys).toEqual([]);
    listener.push(concat(tone, silence(100, rate)), rate);
    expect(keys).toEqual(['5']);
  });
});
