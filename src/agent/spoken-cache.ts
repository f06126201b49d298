import { ReadableStream } from 'node:stream/web';
import type { tts } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';

/** Lines kept per host (greetings, menus, fixed lines of every profile it served lately). */
const MAX_LINES = 200;
/** A line longer than this (a minute at 48 kHz) is not kept. */
const MAX_SAMPLES = 48_000 * 60;

interface Line {
  rate: number;
  chunks: Int16Array[];
}

/**
 * The host's scripted lines as their TTS said them, so a greeting, a menu or "Are you still
 * there?" is synthesised once per voice and text, not once per call: on a host with many calls
 * the TTS's stream (a websocket, its JSON and base64, the library's byte buffering) cost more
 * than playing the audio. A line not rendered yet is spoken live while it renders once in the
 * background for the next call. The voice key is the profile's whole TTS settings: a change of
 * voice, model, provider or address is another line. Never for what an LLM says.
 */
export class SpokenCache {
  readonly #lines = new Map<string, Promise<Line | undefined>>();
  readonly #done = new Map<string, Line>();

  /** The line's audio as a stream of frames, or undefined: speak it live, it renders now. */
  audio(voiceKey: string, text: string, voice: tts.TTS): ReadableStream<AudioFrame> | undefined {
    const key = `${voiceKey}\n${text}`;
    const line = this.#done.get(key);
    if (line) {
      // Most recently used last: the oldest is the one dropped.
      this.#done.delete(key);
      this.#done.set(key, line);
      return replay(line);
    }
    if (!this.#lines.has(key)) this.#render(key, text, voice);
    return undefined;
  }

  #render(key: string, text: string, voice: tts.TTS): void {
    const rendering = (async (): Promise<Line | undefined> => {
      const stream = voice.synthesize(text);
      const chunks: Int16Array[] = [];
      let rate = 0;
      let samples = 0;
      try {
        for await (const audio of stream) {
          const frame = audio.frame;
          if (rate && frame.sampleRate !== rate) return undefined;
          if (frame.channels !== 1) return undefined;
          rate = frame.sampleRate;
          samples += frame.samplesPerChannel;
          if (samples > MAX_SAMPLES) return undefined;
          chunks.push(frame.data.slice());
        }
      } finally {
        stream.close();
      }
      return rate && chunks.length ? { rate, chunks } : undefined;
    })().catch(() => undefined);
    this.#lines.set(key, rendering);
    void rendering.then((line) => {
      this.#lines.delete(key);
      if (!line) return;
      this.#done.set(key, line);
      while (this.#done.size > MAX_LINES) this.#done.delete(this.#done.keys().next().value!);
    });
  }
}

function replay(line: Line): ReadableStream<AudioFrame> {
  let next = 0;
  return new ReadableStream<AudioFrame>({
    pull(controller) {
      const chunk = line.chunks[next++];
      if (!chunk) controller.close();
      else controller.enqueue(new AudioFrame(chunk, line.rate, 1, chunk.length));
    },
  });
}
