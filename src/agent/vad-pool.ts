import type { VAD } from '@livekit/agents';
import type * as Silero from '@livekit/agents-plugin-silero';
import type { InferenceSession } from 'onnxruntime-node';
import { SharedVadSession } from './vad/shared-session.js';
import { PHONE_VAD_SILENCE_MS } from './voice-session.js';

/**
 * The host's VADs: one Silero model for all its calls, run in a worker thread that batches the
 * windows of calls that arrive together (src/agent/vad/). Each call gets its own `VAD` object on
 * that model: the plugin's VAD keeps every stream it ever made, so one shared for the host's life
 * would keep each finished call's speech buffer (a megabyte at 8 kHz) to the end.
 */
export class VadPool {
  readonly #session = new SharedVadSession();
  #plugin: Promise<typeof Silero> | undefined;

  /** Loads the plugin and the model before the first call needs them. */
  async warm(): Promise<void> {
    await Promise.all([this.get(), this.#session.start()]);
  }

  async get(silenceMs: number = PHONE_VAD_SILENCE_MS): Promise<VAD> {
    this.#plugin ??= import('@livekit/agents-plugin-silero');
    const plugin = await this.#plugin.catch((error: unknown) => {
      // A load that failed is tried again by the next call, not cached.
      this.#plugin = undefined;
      throw error;
    });
    return new plugin.VAD(this.#session as unknown as InferenceSession, {
      // Phone audio is 8 kHz; the model's 8 kHz mode costs 0.83 of its 16 kHz mode (bench).
      sampleRate: 8000,
      minSilenceDuration: silenceMs,
      minSpeechDuration: 100,
      // The plugin's defaults.
      prefixPaddingDuration: 500,
      maxBufferedSpeech: 60_000,
      activationThreshold: 0.5,
      forceCPU: true,
    });
  }
}
