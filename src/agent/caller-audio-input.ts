import { TransformStream } from 'node:stream/web';
import { voice } from '@livekit/agents';
import {
  AudioStream,
  ParticipantKind,
  RoomEvent,
  TrackKind,
  type AudioFrame,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type Room,
} from '@livekit/rtc-node';
import type { InbandKeys } from './call-lifecycle/inband-keys.js';

/**
 * 32 ms at 8 kHz is Silero's window (256 samples), so each frame is one inference and nothing
 * waits for a second frame; other rates take 20 ms. Either is a third or half of the frames of
 * rtc-node's 10 ms default, and every stream on the way costs per frame.
 */
const frameMsAt = (sampleRate: number) => (sampleRate === 8000 ? 32 : 20);

interface OpenTrack {
  sid: string;
  id: string;
  stream: ReadableStream<AudioFrame>;
}

/**
 * The session's caller audio, read once at the rate the session wants in frames of the VAD's window, the
 * in-band DTMF detector on the way. It stands in for the agents library's room input, which reads
 * 10 ms frames and passes each through three streams (resample, mute gate, the tone tap) before
 * the session's own: per frame and per call, that is what a host with many calls pays for. The
 * caller is the first participant that is not an agent to publish audio (a transfer's second
 * party, who joins later, is not read); a track it publishes again replaces the first.
 */
export class CallerAudioInput extends voice.AudioInput {
  readonly #room: Room;
  readonly #sampleRate: number;
  readonly #keys: InbandKeys | undefined;
  #callerIdentity: string | undefined;
  #current: OpenTrack | undefined;
  #attached = true;
  #closed = false;

  readonly #onSubscribed = (
    track: RemoteTrack,
    _publication: RemoteTrackPublication,
    participant: RemoteParticipant,
  ) => this.#consider(track, participant);

  readonly #onUnsubscribed = (track: RemoteTrack) => {
    if (this.#current?.sid === track.sid) void this.#closeCurrent();
  };

  constructor(room: Room, options: { sampleRate: number; keys?: InbandKeys }) {
    super();
    this.#room = room;
    this.#sampleRate = options.sampleRate;
    this.#keys = options.keys;
    room.on(RoomEvent.TrackSubscribed, this.#onSubscribed);
    room.on(RoomEvent.TrackUnsubscribed, this.#onUnsubscribed);
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        if (publication.track) this.#consider(publication.track as RemoteTrack, participant);
      }
    }
  }

  /** Whom the input reads, once someone published audio. */
  get callerIdentity(): string | undefined {
    return this.#callerIdentity;
  }

  #consider(track: RemoteTrack, participant: RemoteParticipant): void {
    if (this.#closed || track.kind !== TrackKind.KIND_AUDIO) return;
    if (participant.kind === ParticipantKind.AGENT) return;
    this.#callerIdentity ??= participant.identity;
    if (participant.identity !== this.#callerIdentity || this.#current?.sid === track.sid) return;
    void this.#closeCurrent();
    const stream = new AudioStream(track, {
      sampleRate: this.#sampleRate,
      numChannels: 1,
      frameSizeMs: frameMsAt(this.#sampleRate),
    });
    const gate = new TransformStream<AudioFrame, AudioFrame>({
      transform: (frame, controller) => {
        if (!this.#attached) return;
        this.#keys?.push(frame.data, frame.sampleRate);
        controller.enqueue(frame);
      },
    });
    const readable = stream.pipeThrough(gate);
    this.#current = {
      sid: track.sid ?? '',
      id: this.multiStream.addInputStream(readable),
      stream: readable,
    };
  }

  async #closeCurrent(): Promise<void> {
    const current = this.#current;
    if (!current) return;
    this.#current = undefined;
    await this.multiStream.removeInputStream(current.id).catch(() => undefined);
    await current.stream.cancel().catch(() => undefined);
  }

  /** Hold and mute: frames are dropped, and no half-heard key carries over the gap. */
  override setAttached(attached: boolean): void {
    this.#attached = attached;
    if (!attached) this.#keys?.reset();
  }

  override async close(): Promise<void> {
    this.#closed = true;
    this.#room.off(RoomEvent.TrackSubscribed, this.#onSubscribed);
    this.#room.off(RoomEvent.TrackUnsubscribed, this.#onUnsubscribed);
    await this.#closeCurrent();
    await super.close();
  }
}
