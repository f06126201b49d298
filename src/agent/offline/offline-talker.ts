import { EventEmitter } from 'node:events';
import { RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';
import type { HoldTarget } from '../hold.js';
import type { ProfileSettings } from '../profile.js';
import { CallerListener, LISTEN_RATE } from './caller-listener.js';
import { DtmfDetector } from './dtmf-detector.js';
import type { PromptCache } from './prompt-cache.js';
import { PromptPlayer, type Playback } from './prompt-player.js';
import { SpeechDetector, type SpeechEvent } from './speech-detector.js';

export interface OfflineTalkerEvents {
  /** The caller has been talking for the shortest utterance that counts (400 ms). */
  speechStarted: [info: { startedAt: number }];
  /** The caller stopped (after the profile's endpointing.vad_silence_seconds of silence). */
  speechEnded: [info: { durationMs: number; endedAt: number }];
  /** A key's tones in the caller's audio (in-band DTMF; with dtmf_mode inband or both). */
  dtmf: [info: { digit: string }];
  /** close() ran, or the room disconnected. */
  closed: [];
}

export interface SayOptions {
  /** May the caller's speech cut it off? Default: the profile's allow_interruptions. */
  allowInterruptions?: boolean;
}

export interface SpeechHandle {
  /** Resolves once said or interrupted; rejects if the text could not be rendered or played. */
  readonly done: Promise<void>;
  readonly interrupted: boolean;
  interrupt(): void;
}

interface Speaking {
  playback: Playback;
  allowInterruptions: boolean;
}

/**
 * One offline call's audio without an agent session: prompts from the process's shared cache
 * on a track of its own, and a cheap detector for the caller's speech. Implements HoldTarget.
 */
export class OfflineTalker extends EventEmitter<OfflineTalkerEvents> implements HoldTarget {
  /** Resolves once the agent's track is published (LiveKit SIP answers only then). */
  readonly ready: Promise<void>;
  readonly #settings: ProfileSettings;
  readonly #cache: PromptCache;
  readonly #log: Logger;
  readonly #room: Room;
  readonly #player: PromptPlayer;
  readonly #detector: SpeechDetector;
  /** On the same 8 kHz frames as the speech detector: no second stream of the caller. */
  readonly #keys: DtmfDetector | undefined;
  readonly #listener: CallerListener;
  /** What was asked to be said, oldest first; each drops out once done. */
  readonly #said: Speaking[] = [];
  #listening = true;
  #closed = false;
  /** Audio time of the detector (ms) and the wall clock at its last frame: to date events. */
  #clock = { audioMs: 0, at: 0 };
  readonly #onDisconnected = () => void this.close();

  constructor(
    room: Room,
    caller: RemoteParticipant,
    settings: ProfileSettings,
    cache: PromptCache,
    log: Logger,
  ) {
    super();
    this.#room = room;
    this.#settings = settings;
    this.#cache = cache;
    this.#log = log;
    this.#player = new PromptPlayer(room, { rate: cache.rate });
    this.ready = this.#player.ready;
    this.#detector = new SpeechDetector({
      sampleRate: LISTEN_RATE,
      minSilenceMs: settings.endpointing.vad_silence_seconds * 1000,
    });
    if (settings.dtmf_mode !== 'rfc2833')
      this.#keys = new DtmfDetector({ sampleRate: LISTEN_RATE });
    this.#listener = new CallerListener(room, caller, (frame) => this.#hear(frame), log);
    room.on(RoomEvent.Disconnected, this.#onDisconnected);
  }

  /** True while the caller is in an utterance that counts. */
  get callerSpeaking(): boolean {
    return this.#detector.speaking;
  }

  /** True while something is being said or waits its turn. */
  get speaking(): boolean {
    return this.#player.busy;
  }

  /** Says `text` after whatever is queued: at once from the cache, else rendered first. */
  say(text: string, options: SayOptions = {}): SpeechHandle {
    const voice = { language: this.#settings.language, voice: this.#settings.voice };
    const samples = this.#cache.peek(text, voice) ?? this.#cache.get(text, voice);
    const playback = this.#player.play(samples);
    const entry = {
      playback,
      allowInterruptions: options.allowInterruptions ?? this.#settings.allow_interruptions,
    };
    this.#said.push(entry);
    const forget = () => {
      const at = this.#said.indexOf(entry);
      if (at >= 0) this.#said.splice(at, 1);
    };
    playback.done.then(forget, (error: unknown) => {
      forget();
      this.#log.error({ err: error }, 'prompt could not be played');
    });
    return playback;
  }

  /** Stops what is said at once, and drops what is queued. */
  interrupt(): void {
    this.#player.interrupt();
  }

  /** Off: the caller's audio is not listened to (an utterance under way is dropped). */
  setListening(on: boolean): void {
    if (this.#listening === on) return;
    this.#listening = on;
    if (!on) {
      this.#detector.reset();
      this.#keys?.reset();
    }
  }

  async pause(): Promise<void> {
    this.interrupt();
    this.setListening(false);
  }

  resume(): void {
    this.setListening(true);
  }

  onClose(listener: () => void): void {
    this.once('closed', listener);
  }

  /** Stops speaking and listening and unpublishes the agent's track. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#room.off(RoomEvent.Disconnected, this.#onDisconnected);
    this.#listening = false;
    await Promise.all([this.#listener.stop(), this.#player.close()]);
    this.emit('closed');
  }

  #hear(frame: Int16Array): void {
    if (!this.#listening || this.#closed) return;
    const events = this.#detector.push(frame);
    for (const digit of this.#keys?.push(frame) ?? []) this.emit('dtmf', { digit });
    this.#clock.audioMs += (frame.length * 1000) / LISTEN_RATE;
    this.#clock.at = Date.now();
    for (const event of events) this.#onSpeech(event);
  }

  /** Wall-clock time of a moment `audioMs` into the caller's audio. */
  #wallTime(audioMs: number): number {
    return this.#clock.at - (this.#clock.audioMs - audioMs);
  }

  #onSpeech(event: SpeechEvent): void {
    if (event.type === 'start') {
      // Barge-in: the caller cuts off what may be cut off; the rest is still said.
      for (const s of [...this.#said]) if (s.allowInterruptions) s.playback.interrupt();
      this.emit('speechStarted', { startedAt: this.#wallTime(event.startMs) });
    } else {
      this.emit('speechEnded', {
        durationMs: event.durationMs,
        endedAt: this.#wallTime(event.endMs),
      });
    }
  }
}
