import { initializeLogger, VADEventType, type VAD } from '@livekit/agents';
import { VAD as SileroVAD } from '@livekit/agents-plugin-silero';
import { AudioFrame } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { VadPool } from '../../src/agent/vad-pool.js';
import { frames20, speechScene } from '../helpers/speech-audio.js';

// The host's VADs share one Silero model in a worker thread that runs the windows of all calls
// that arrive together as one batch. What each call's VAD hears must not change: the same
// probabilities and the same speech turns as the plugin's own session on the same audio.

const RATE = 8000;
initializeLogger({ pretty: false, level: 'warn' });

interface Heard {
  probabilities: number[];
  turns: string[];
}

async function listen(vad: VAD, samples: Int16Array): Promise<Heard> {
  const stream = vad.stream();
  const heard: Heard = { probabilities: [], turns: [] };
  const reading = (async () => {
    for await (const ev of stream) {
      if (ev.type === VADEventType.INFERENCE_DONE) heard.probabilities.push(ev.probability);
      else if (ev.type === VADEventType.START_OF_SPEECH)
        heard.turns.push(`start@${ev.samplesIndex}`);
      else if (ev.type === VADEventType.END_OF_SPEECH) heard.turns.push(`end@${ev.samplesIndex}`);
    }
  })();
  const frames = frames20(samples, RATE);
  for (const frame of frames) {
    stream.pushFrame(new AudioFrame(frame, RATE, 1, frame.length));
    // Frames arrive over time, as from a call, so the calls' windows interleave.
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Then until no window is inferred for 500 ms (bounded), and the stream is closed.
  for (let i = 0, seen = -1; i < 60 && heard.probabilities.length !== seen; i += 1) {
    seen = heard.probabilities.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  stream.close();
  await reading.catch(() => undefined);
  return heard;
}

describe('the host-wide VAD', () => {
  it('hears each of three concurrent calls as the plugin alone hears one', async () => {
    const { samples, sentences } = speechScene(RATE);
    const alone = await listen(
      await SileroVAD.load({ sampleRate: RATE, minSilenceDuration: 300, minSpeechDuration: 100 }),
      samples,
    );
    expect(alone.turns.filter((t) => t.startsWith('start')).length).toBe(sentences.length);

    const pool = new VadPool();
    await pool.warm();
    const calls = await Promise.all(
      [0, 1, 2].map(async () => listen(await pool.get(300), samples)),
    );
    for (const call of calls) {
      expect(call.turns).toEqual(alone.turns);
      expect(call.probabilities.length).toBe(alone.probabilities.length);
      const worst = Math.max(
        ...call.probabilities.map((p, i) => Math.abs(p - alone.probabilities[i]!)),
      );
      expect(worst).toBeLessThan(1e-4);
    }
  }, 60_000);
});
