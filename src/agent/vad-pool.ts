import type { VAD } from '@livekit/agents';
import { PHONE_VAD_SILENCE_MS } from './voice-session.js';

/**
 * One Silero VAD per silence window, shared by every call of the host that uses that window:
 * the model is loaded once per window, each call's stream keeps its own state. A VAD's options
 * are shared by all its streams, so a call must never change them (updateOptions) for itself.
 */
export class VadPool {
  readonly #byWindow = new Map<number, Promise<VAD>>();

  get(silenceMs: number = PHONE_VAD_SILENCE_MS): Promise<VAD> {
    const known = this.#byWindow.get(silenceMs);
    if (known) return known;
    const vad: Promise<VAD> = import('@livekit/agents-plugin-silero').then((plugin) =>
      plugin.VAD.load({
        // Phone audio is 8 kHz; the model's 8 kHz mode costs 0.83 of its 16 kHz mode (bench).
        sampleRate: 8000,
        minSilenceDuration: silenceMs,
        minSpeechDuration: 100,
      }),
    );
    // A load that failed is tried again by the next call, not cached.
    vad.catch(() => this.#byWindow.delete(silenceMs));
    this.#byWindow.set(silenceMs, vad);
    return vad;
  }
}
