import { describe, expect, it } from 'vitest';
import { defaultHoldMelody } from '../../src/agent/hold-music.js';
import { DUPLICATE_KEY_MS, KeyFilter } from '../../src/agent/call-lifecycle/keys.js';
import { DtmfDetector } from '../../src/agent/offline/dtmf-detector.js';
import { concat, espeakSpeech, mixUnder, silence, soxSynth } from '../helpers/speech-audio.js';

// The in-band DTMF detector on generated key tones (ITU-T Q.24's limits), and on what must
// never read as a key: espeak-ng speech in several voices and the built-in music on hold.

const RATE = 8000;
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];
const ALL = '0123456789*#ABCD';

/** A key's two tones: the low at `db` dBFS, the high `twistDb` weaker, both `offPct` off. */
function tone(key: string, ms: number, o: { db?: number; twistDb?: number; offPct?: number } = {}) {
  const row = KEYS.findIndex((k) => k.includes(key));
  const column = KEYS[row]!.indexOf(key);
  const low = 10 ** ((o.db ?? -10) / 20) * 32767;
  const high = low * 10 ** (-(o.twistDb ?? 0) / 20);
  const shift = 1 + (o.offPct ?? 0) / 100;
  const out = new Int16Array(Math.round((ms * RATE) / 1000));
  const phase = (ALL.indexOf(key) * 0.7) % 6.28;
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    out[i] = Math.round(
      low * Math.sin(2 * Math.PI * ROWS[row]! * shift * t + phase) +
        high * Math.sin(2 * Math.PI * COLUMNS[column]! * shift * t),
    );
  }
  return out;
}

/** What the detector reports for `samples` fed as 20 ms frames. */
function detect(samples: Int16Array): string {
  const detector = new DtmfDetector({ sampleRate: RATE });
  const keys: string[] = [];
  for (let at = 0; at < samples.length; at += 160) {
    keys.push(...detector.push(samples.subarray(at, at + 160)));
  }
  return keys.join('');
}

const keyed = (keys: string, make: (key: string) => Int16Array, gapMs = 100) =>
  concat(...[...keys].flatMap((k) => [make(k), silence(gapMs, RATE)]));

describe('in-band DTMF detector', () => {
  it('hears every key, each once, at 100 ms tones and gaps', () => {
    expect(detect(keyed(ALL, (k) => tone(k, 100)))).toBe(ALL);
  });

  it('hears 40 ms tones with 60 ms gaps, wherever they fall in the frames', () => {
    const samples = concat(
      ...[...ALL].flatMap((k, i) => [silence(3 + i, RATE), tone(k, 40), silence(60, RATE)]),
    );
    expect(detect(samples)).toBe(ALL);
  });

  it('hears the same key pressed three times as three keys', () => {
    expect(detect(keyed('555', (k) => tone(k, 80), 50))).toBe('555');
  });

  it('hears quiet keys (-30 dBFS), 7 dB normal and 3 dB reverse twist, tones 1.5% off', () => {
    expect(detect(keyed(ALL, (k) => tone(k, 100, { db: -30 })))).toBe(ALL);
    expect(detect(keyed(ALL, (k) => tone(k, 100, { twistDb: 7 })))).toBe(ALL);
    expect(detect(keyed(ALL, (k) => tone(k, 100, { twistDb: -3 })))).toBe(ALL);
    expect(detect(keyed(ALL, (k) => tone(k, 100, { offPct: 1.5 })))).toBe(ALL);
    expect(detect(keyed(ALL, (k) => tone(k, 100, { offPct: -1.5 })))).toBe(ALL);
  });

  it('hears keys over soft noise', () => {
    const noise = soxSynth(3, RATE, ['whitenoise'], 0.02);
    expect(
      detect(
        mixUnder(
          keyed(ALL, (k) => tone(k, 100)),
          noise,
        ),
      ),
    ).toBe(ALL);
  });

  it('refuses what Q.24 says to refuse: 20 ms tones, 10 dB twist, tones 3.5% off, one tone alone', () => {
    expect(detect(keyed(ALL, (k) => tone(k, 20)))).toBe('');
    expect(detect(keyed(ALL, (k) => tone(k, 100, { twistDb: 10 })))).toBe('');
    expect(detect(keyed(ALL, (k) => tone(k, 100, { twistDb: -6 })))).toBe('');
    expect(detect(keyed(ALL, (k) => tone(k, 100, { offPct: 3.5 })))).toBe('');
    expect(detect(keyed(ALL, (k) => tone(k, 100, { offPct: -3.5 })))).toBe('');
    const single = concat(...ROWS.map((f) => soxSynth(0.2, RATE, ['sine', String(f)], 0.5)));
    expect(detect(single)).toBe('');
  });

  it('hears no key in espeak-ng speech, in four voices, loud and soft', () => {
    const lines = [
      'Hello, I would like to check the balance of my account please.',
      'My number is one two three four five six seven eight nine zero.',
      'Press one for sales, two for support, or stay on the line.',
      'Eeeee ooooo aaaaa, the quick brown fox jumps over the lazy dog.',
    ];
    let heardSeconds = 0;
    for (const voice of ['en-us', 'en-gb', 'en-us+f3', 'ru']) {
      for (const line of lines) {
        const speech = espeakSpeech(line, RATE, voice);
        heardSeconds += speech.length / RATE;
        expect(detect(speech), `${voice}: ${line}`).toBe('');
        const soft = speech.map((s) => Math.round(s / 8));
        expect(detect(soft), `${voice} soft: ${line}`).toBe('');
      }
    }
    expect(heardSeconds).toBeGreaterThan(40);
  }, 60_000);

  it('hears no key in the music on hold, and the keys pressed over it', () => {
    const melody = defaultHoldMelody(RATE);
    const music = concat(melody, melody, melody, melody, melody);
    expect(detect(music)).toBe('');
    // Softer under the keys, as a caller's line would carry it.
    const under = music.map((s) => Math.round(s / 4));
    const keys = concat(
      silence(500, RATE),
      keyed('1593#', (k) => tone(k, 100), 300),
    );
    expect(detect(mixUnder(keys, under))).toBe('1593#');
  });
});

describe('key sources by dtmf_mode', () => {
  it('counts a key heard both ways once, and each source alone by the mode', () => {
    const both = new KeyFilter('both');
    expect(both.accept('1', 'rfc2833', 1000)).toBe(true);
    expect(both.accept('1', 'inband', 1060)).toBe(false);
    expect(both.accept('1', 'inband', 1000 + DUPLICATE_KEY_MS + 100)).toBe(true);
    expect(both.accept('2', 'inband', 3000)).toBe(true);
    expect(both.accept('2', 'rfc2833', 3100)).toBe(false);
    // The same key pressed again from the same source is another press.
    expect(both.accept('3', 'rfc2833', 5000)).toBe(true);
    expect(both.accept('3', 'rfc2833', 5200)).toBe(true);
    const inband = new KeyFilter('inband');
    expect(inband.accept('1', 'rfc2833')).toBe(false);
    expect(inband.accept('1', 'inband')).toBe(true);
    const events = new KeyFilter('rfc2833');
    expect(events.accept('1', 'inband')).toBe(false);
    expect(events.accept('1', 'rfc2833')).toBe(true);
  });
});
