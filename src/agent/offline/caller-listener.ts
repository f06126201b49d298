import {
  AudioStream,
  RoomEvent,
  TrackKind,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type Room,
} from '@livekit/rtc-node';
import type { Logger } from '../../config/logger.js';

/** Phone audio is 8 kHz: LiveKit resamples to it, so nothing of ours has to. */
export const LISTEN_RATE = 8000;

/**
 * The caller's microphone as mono frames at LISTEN_RATE, 20 ms each. Follows the caller's audio
 * track across unpublish and republish.
 */
export class CallerListener {
  #reader: ReturnType<AudioStream['getReader']> | undefined;
  #trackSid: string | undefined;
  #reading: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #onSubscribed = (
    track: RemoteTrack,
    _publication: RemoteTrackPublication,
    participant: RemoteParticipant,
  ) => {
    if (participant.identity === this.caller.identity && track.kind === TrackKind.KIND_AUDIO) {
      this.#read(track);
    }
  };

  constructor(
    private readonly room: Room,
    private readonly caller: RemoteParticipant,
    private readonly onFrame: (samples: Int16Array) => void,
    private readonly log: Logger,
  ) {
    room.on(RoomEvent.TrackSubscribed, this.#onSubscribed);
    for (const publication of caller.trackPublications.values()) {
      if (publication.kind !== TrackKind.KIND_AUDIO) continue;
      if (publication.track) this.#read(publication.track as RemoteTrack);
      else if (!publication.subscribed) publication.setSubscribed(true);
      break;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.room.off(RoomEvent.TrackSubscribed, this.#onSubscribed);
    await this.#reader?.cancel().catch(() => undefined);
    await this.#reading;
  }

  #read(track: RemoteTrack): void {
    if (this.#stopped || track.sid === this.#trackSid) return;
    this.#trackSid = track.sid;
    void this.#reader?.cancel().catch(() => undefined);
    const stream = new AudioStream(track, {
      sampleRate: LISTEN_RATE,
      numChannels: 1,
      frameSizeMs: 20,
    });
    const reader = stream.getReader();
    this.#reader = reader;
    const previous = this.#reading;
    this.#reading = (async () => {
      await previous;
      try {
        for (;;) {
          const { done, value: frame } = await reader.read();
          if (done || this.#stopped || this.#reader !== reader) break;
          this.onFrame(frame.data);
        }
      } catch (error) {
        this.log.warn({ err: error }, 'caller audio stream ended with an error');
      }
    })();
  }
}
