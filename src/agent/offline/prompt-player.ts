import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  TrackPublishOptions,
  TrackSource,
  type Room,
} from '@livekit/rtc-node';

export const PROMPT_TRACK_NAME = 'agent-voice';
/**
 * What the source buffers ahead of the wire. captureFrame waits while it is full, which paces
 * the feed to real time; clearQueue() drops it, so it bounds how late an interrupt is heard.
 */
const SOURCE_QUEUE_MS = 100;
/**
 * From publishing until the first prompt, the track sends silence (at most this long): LiveKit
 * SIP then has the agent's media flowing when it answers, and the greeting reaches the caller
 * sooner than on a track that starts sending with it (about 40 ms in `npm run bench -- agent`).
 */
const WARM_SILENCE_MS = 3000;

/** One prompt handed to the player. */
export interface Playback {
  /** Resolves once the audio has played out or was interrupted; rejects if it could not render. */
  readonly done: Promise<void>;
  /** True once interrupt() cut it (or the player closed) before it played out. */
  readonly interrupted: boolean;
  /** Stops it at once if it is playing; drops it if it is still waiting its turn. */
  interrupt(): void;
}

class QueuedPlayback implements Playback {
  readonly done: Promise<void>;
  interrupted = false;
  finished = false;
  #resolve!: () => void;
  #reject!: (error: unknown) => void;

  constructor(
    readonly samples: Int16Array | Promise<Int16Array>,
    private readonly onInterrupt: (playback: QueuedPlayback) => void,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Whoever ignores `done` must not get an unhandled rejection for a failed render.
    this.done.catch(() => undefined);
  }

  interrupt(): void {
    if (this.finished) return;
    this.interrupted = true;
    this.onInterrupt(this);
    this.finish();
  }

  finish(error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}

/**
 * The agent's voice in one call: a track of its own fed with 20 ms frames of prompt audio.
 * Plays go out in the order they were asked for; an interrupt is heard at once.
 */
export class PromptPlayer {
  readonly rate: number;
  /** Resolves once the track is published; plays asked for before wait for it. */
  readonly ready: Promise<void>;
  readonly #room: Room;
  readonly #source: AudioSource;
  readonly #frame: number;
  readonly #queue: QueuedPlayback[] = [];
  readonly #loop: Promise<void>;
  #trackSid: string | undefined;
  #current: QueuedPlayback | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  /** Publishes the voice track in `room` (connected) at `rate`, mono. */
  constructor(room: Room, options: { rate: number; trackName?: string }) {
    const local = room.localParticipant;
    if (!local) throw new Error('playing prompts needs a connected room');
    this.#room = room;
    this.rate = options.rate;
    this.#frame = options.rate / 50;
    this.#source = new AudioSource(options.rate, 1, SOURCE_QUEUE_MS);
    const track = LocalAudioTrack.createAudioTrack(
      options.trackName ?? PROMPT_TRACK_NAME,
      this.#source,
    );
    this.ready = local
      .publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }))
      .then((publication) => {
        this.#trackSid = publication.sid;
      });
    // A failed publish is the owner's to see through `ready`; the loop then fails each play.
    this.ready.catch(() => undefined);
    this.#loop = this.#run();
  }

  /** True while a prompt is being played or waits its turn. */
  get busy(): boolean {
    return this.#current !== undefined || this.#queue.length > 0;
  }

  /** Queues mono samples at the player's rate (or their render, still under way). */
  play(samples: Int16Array | Promise<Int16Array>): Playback {
    const playback = new QueuedPlayback(samples, (p) => this.#cut(p));
    if (this.#closed) {
      playback.interrupt();
      return playback;
    }
    this.#queue.push(playback);
    this.#wake?.();
    return playback;
  }

  /** Stops what is playing and drops everything queued. */
  interrupt(): void {
    for (const playback of [...this.#queue]) playback.interrupt();
    this.#current?.interrupt();
  }

  /** Stops playing, unpublishes the track (if the room is still there) and closes the source. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.interrupt();
    this.#wake?.();
    await this.#loop;
    await this.ready.catch(() => undefined);
    try {
      const local = this.#room.localParticipant;
      if (this.#room.isConnected && local && this.#trackSid) {
        await local.unpublishTrack(this.#trackSid);
      }
    } catch {
      // The room went away while unpublishing: nothing is left to stop.
    } finally {
      await this.#source.close();
    }
  }

  #cut(playback: QueuedPlayback): void {
    const queued = this.#queue.indexOf(playback);
    if (queued >= 0) this.#queue.splice(queued, 1);
    if (playback === this.#current) this.#source.clearQueue();
  }

  async #run(): Promise<void> {
    await this.#sendSilenceUntilFirstPlay();
    while (!this.#closed) {
      const next = this.#queue.shift();
      if (!next) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      this.#current = next;
      try {
        await this.ready;
        await this.#playOut(next);
        next.finish();
      } catch (error) {
        next.finish(error);
      } finally {
        this.#current = undefined;
      }
    }
  }

  async #sendSilenceUntilFirstPlay(): Promise<void> {
    try {
      await this.ready;
    } catch {
      return;
    }
    const silence = new Int16Array(this.#frame);
    const frames = WARM_SILENCE_MS / 20;
    for (let n = 0; n < frames && !this.#closed && this.#queue.length === 0; n++) {
      await this.#source.captureFrame(new AudioFrame(silence, this.rate, 1, this.#frame));
    }
    // The silence still queued would only hold the first prompt back.
    this.#source.clearQueue();
  }

  async #playOut(playback: QueuedPlayback): Promise<void> {
    const samples = await playback.samples;
    const frame = this.#frame;
    for (let at = 0; at < samples.length; at += frame) {
      if (playback.finished || this.#closed) return;
      // A copy per frame: rtc-node hands the frame's whole ArrayBuffer to the FFI, ignoring
      // a view's offset, so a subarray of the cached prompt would play from its start.
      const chunk = new Int16Array(frame);
      chunk.set(samples.subarray(at, Math.min(at + frame, samples.length)));
      await this.#source.captureFrame(new AudioFrame(chunk, this.rate, 1, frame));
    }
    if (!playback.finished) await this.#source.waitForPlayout();
  }
}
