import { dispose } from '@livekit/rtc-node';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultHoldMelody } from '../../src/agent/hold-music.js';
import { runSilero, runSpeechDetector } from '../helpers/detector-compare.js';
import {
  concat,
  dtmfTone,
  espeakSpeech,
  mixUnder,
  repliesScene,
  silence,
  soxSynth,
  speechScene,
} from '../helpers/speech-audio.js';

// The offline profile's speech detector against Silero VAD (what the agents use) on the same
// espeak-ng speech, silence and noise.

afterAll(() => dispose());

const SILENCE_MS = 300;
const TOLERANCE_MS = 150;

describe('offline speech detector', () => {
  for (const rate of [8000, 16000] as const) {
    it(`finds the utterances Silero finds, boundaries within 150 ms, at ${rate / 1000} kHz`, async () => {
      const { samples, sentences } = speechScene(rate);
      const silero = await runSilero(samples, rate, SILENCE_MS);
      const ours = runSpeechDetector(samples, rate, SILENCE_MS);
      expect(silero.utterances).toHaveLength(sentences.length);
      expect(ours.utterances).toHaveLength(sentences.length);
      ours.utterances.forEach((u, i) => {
        const ref = silero.utterances[i]!;
        expect(Math.abs(u.startMs - ref.startMs), `start of utterance ${i}`).toBeLessThanOrEqual(
          TOLERANCE_MS,
        );
        expect(Math.abs(u.endMs - ref.endMs), `end of utterance ${i}`).toBeLessThanOrEqual(
          TOLERANCE_MS,
        );
      });
    });
  }

  for (const voice of ['en-us+f3', 'en-gb', 'de']) {
    it(`agrees with Silero on short and long replies in the ${voice} voice over white noise`, async () => {
      const { samples, count } = repliesScene(8000, voice);
      const silero = await runSilero(samples, 8000, SILENCE_MS);
      const ours = runSpeechDetector(samples, 8000, SILENCE_MS);
      expect(silero.utterances).toHaveLength(count);
      expect(ours.utterances).toHaveLength(count);
      ours.utterances.forEach((u, i) => {
        const ref = silero.utterances[i]!;
        expect(Math.abs(u.startMs - ref.startMs), `start ${i}`).toBeLessThanOrEqual(TOLERANCE_MS);
        expect(Math.abs(u.endMs - ref.endMs), `end ${i}`).toBeLessThanOrEqual(TOLERANCE_MS);
      });
    });
  }

  it('hears no speech in DTMF tones, the hold music, or noise alone; hears the speech after them', () => {
    const rate = 8000;
    const keys = ['1', '5', '9', '0', '#'].flatMap((k) => [
      dtmfTone(k, 150, rate),
      silence(100, rate),
    ]);
    const audio = mixUnder(
      concat(
        silence(1000, rate),
        ...keys,
        dtmfTone('5', 380, rate),
        silence(500, rate),
        defaultHoldMelody(rate),
        defaultHoldMelody(rate),
        silence(2000, rate),
        espeakSpeech('Now I am really talking to you.', rate),
        silence(1000, rate),
      ),
      soxSynth(3, rate, ['pinknoise'], 0.02),
    );
    const { utterances } = runSpeechDetector(audio, rate, SILENCE_MS, 400);
    expect(utterances).toHaveLength(1);
    // The sentence starts after 1 s + 1.25 s of keys + 0.88 s + 2 x 4 s of music + 2 s.
    expect(utterances[0]!.startMs).toBeGreaterThan(13_000);
  });

  it('drops a burst shorter than the shortest utterance (400 ms), as the offline script does', () => {
    const rate = 8000;
    const burst = soxSynth(0.3, rate, ['whitenoise'], 0.3);
    const word = espeakSpeech('Yes, I would like that.', rate);
    const audio = concat(
      silence(1000, rate),
      burst,
      silence(1000, rate),
      word,
      silence(1000, rate),
    );
    expect(runSpeechDetector(audio, rate, SILENCE_MS, 0).utterances).toHaveLength(2);
    expect(runSpeechDetector(audio, rate, SILENCE_MS, 400).utterances).toHaveLength(1);
  });
});
