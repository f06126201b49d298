import { describe, expect, it } from 'vitest';
import {
  BeepWaiter,
  MachineDetector,
  type AnsweredBy,
} from '../../src/agent/machine-detection/detector.js';
import {
  concat,
  espeakSpeech,
  frames20,
  mixUnder,
  silence,
  soxSynth,
} from '../helpers/speech-audio.js';

// Answering machine detection on recorded greetings: people who pick up and wait, machines
// that talk on and beep, made with espeak-ng voices and sox tones at phone rate (8 kHz).

const RATE = 8000;
const line = (ms: number) => soxSynth(ms / 1000, RATE, ['brownnoise'], 0.004);

const humans: [string, string][] = [
  ['Hello?', 'en-us'],
  ['Yes, hello.', 'en-gb'],
  ['Hi, this is Anna.', 'en-us+f3'],
  ['Good morning.', 'en-us+m3'],
  ['Speaking.', 'en-gb+f2'],
];
const machines: [string, string][] = [
  [
    'Hi, you have reached the Smith family. We cannot take your call right now, please leave a message after the tone.',
    'en-us',
  ],
  [
    'The person you are calling is not available. Please record your message after the beep.',
    'en-gb',
  ],
  [
    'Thank you for calling Acme Dental. Our office is closed. Leave your name and number.',
    'en-us+f3',
  ],
  [
    'Hello, this is Tom, I am away from my phone, leave a message and I will call you back.',
    'en-us+m3',
  ],
];

/** The detector fed 20 ms at a time, as a call host feeds it; the verdict and when it came. */
function detect(samples: Int16Array): { verdict: AnsweredBy | undefined; atMs: number } {
  const detector = new MachineDetector();
  let atMs = 0;
  for (const frame of frames20(samples, RATE)) {
    atMs += 20;
    const verdict = detector.push(frame);
    if (verdict) return { verdict, atMs };
  }
  return { verdict: undefined, atMs };
}

describe('answering machine detection', () => {
  it('tells each person from each machine, on espeak-ng greetings over a quiet line', () => {
    const results: string[] = [];
    for (const [text, voice] of humans) {
      // Pick up, a moment, "Hello?", then wait for an answer.
      const audio = mixUnder(
        concat(silence(300, RATE), espeakSpeech(text, RATE, voice), silence(3000, RATE)),
        line(8000),
      );
      const { verdict, atMs } = detect(audio);
      results.push(`human "${text}": ${verdict} at ${atMs} ms`);
      expect(verdict, text).toBe('human');
    }
    for (const [text, voice] of machines) {
      const audio = mixUnder(
        concat(silence(300, RATE), espeakSpeech(text, RATE, voice)),
        line(12000),
      );
      const { verdict, atMs } = detect(audio);
      results.push(`machine "${text.slice(0, 30)}...": ${verdict} at ${atMs} ms`);
      expect(verdict, text).toBe('machine');
    }
    console.log(results.join('\n'));
  });

  it('is unknown when nobody says anything', () => {
    expect(detect(line(8000)).verdict).toBe('unknown');
  });

  it("hears the machine's beep after its greeting, and silence when it has none", () => {
    const greeting = espeakSpeech(machines[0]![0], RATE);
    const beep = soxSynth(0.5, RATE, ['sine', '1000'], 0.5);
    const withBeep = new BeepWaiter();
    let end;
    for (const frame of frames20(
      concat(greeting, silence(300, RATE), beep, silence(500, RATE)),
      RATE,
    )) {
      end = withBeep.push(frame);
      if (end) break;
    }
    expect(end).toBe('beep');
    const withoutBeep = new BeepWaiter();
    end = undefined;
    for (const frame of frames20(concat(greeting, silence(2500, RATE)), RATE)) {
      end = withoutBeep.push(frame);
      if (end) break;
    }
    expect(end).toBe('silence');
  });
});
