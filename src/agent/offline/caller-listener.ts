import {
  AudioStream,
  RoomEvent,
  TrackKind,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type Room,
} from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';

/** The rate the caller is heard at: phone audio is 8 kHz. */
export const LISTEN_RATE = 8000;
/**
 * The rate the caller's audio is read from rtc-node at: WebRTC's own (Opus decodes to 48 kHz),
 * so rtc-node does not resample. Asking it for 8 kHz made its native resampler run per call, and
 * with ten calls in one host the agents' outgoing greetings had gaps of 135-197 ms (4-5 calls of
 * 10); read at 48 kHz and decimated here, the same ten calls had none (`npm run bench -- agent`).
 */
const STREAM_RATE = 48_000;
const DECIMATION = STREAM_RATE / LISTEN_RATE;

/**
 * 48 kHz to 8 kHz by the mean of each 6 samples. A phone caller's audio was 8 kHz G.711 before
 * LiveKit SIP made it Opus, so nothing above 4 kHz folds back; from a browser's microphone a
 * little does, which is acceptable for telling speech from silence.
 */
function decimate(samples: Int16Array): Int16Array {
  const out = new Int16Array(Math.floor(samples.length / DECIMATION));
  for (let i = 0, at = 0; i < out.length; i++, at += DECIMATION) {
    let sum = 0;
    for (let k = 0; k < DECIMATION; k++) sum += samples[at + k]!;
    out[i] = Math.round(sum / DECIMATION);
  }
  return out;
}

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
      sampleRate: STREAM_RATE,
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
          this.onFrame(decimate(frame.data));
        }
      } catch (error) {
        this.log.warn({ err: error }, 'caller audio stream ended with an error');
      }
    })();
  }
}
