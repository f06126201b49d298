import {
  AudioResampler,
  AudioResamplerQuality,
  AudioStream,
  RoomEvent,
  TrackKind,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  type Room,
} from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';
import { FrameChopper } from './pcm.js';
import { PLATFORM_FRAME_SAMPLES, PLATFORM_SAMPLE_RATE } from './platform-bridge.js';

/**
 * The caller's microphone as 20 ms frames of 16 kHz mono PCM. Follows the caller's audio
 * track across unpublish/republish; resamples with LOW quality (low latency).
 */
export class CallerAudio {
  private readonly chopper = new FrameChopper(PLATFORM_FRAME_SAMPLES);
  private resampler: AudioResampler | undefined;
  private reader: ReturnType<AudioStream['getReader']> | undefined;
  private trackSid: string | undefined;
  private reading: Promise<void> | undefined;
  private stopped = false;
  private readonly onSubscribed = (
    track: RemoteTrack,
    _publication: RemoteTrackPublication,
    participant: RemoteParticipant,
  ) => {
    if (participant.identity === this.caller.identity && track.kind === TrackKind.KIND_AUDIO) {
      this.read(track);
    }
  };

  constructor(
    private readonly room: Room,
    private readonly caller: RemoteParticipant,
    private readonly onFrame: (frame: Int16Array) => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.room.on(RoomEvent.TrackSubscribed, this.onSubscribed);
    for (const publication of this.caller.trackPublications.values()) {
      if (publication.kind !== TrackKind.KIND_AUDIO) continue;
      if (publication.track) this.read(publication.track as RemoteTrack);
      else if (!publication.subscribed) publication.setSubscribed(true);
      break;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.room.off(RoomEvent.TrackSubscribed, this.onSubscribed);
    await this.reader?.cancel().catch(() => undefined);
    await this.reading;
    this.resampler?.close();
    this.resampler = undefined;
  }

  private read(track: RemoteTrack): void {
    if (this.stopped || track.sid === this.trackSid) return;
    this.trackSid = track.sid;
    void this.reader?.cancel().catch(() => undefined);
    const reader = new AudioStream(track, { sampleRate: 48_000, numChannels: 1 }).getReader();
    this.reader = reader;
    const previous = this.reading;
    this.reading = (async () => {
      await previous;
      try {
        for (;;) {
          const { done, value: frame } = await reader.read();
          if (done || this.stopped || this.reader !== reader) break;
          for (const out of this.resamplerFor(frame.sampleRate).push(frame)) {
            for (const chunk of this.chopper.push(out.data)) this.onFrame(chunk);
          }
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'caller audio stream ended with an error');
      }
    })();
  }

  private resamplerFor(rate: number): AudioResampler {
    if (this.resampler?.inputRate === rate) return this.resampler;
    this.resampler?.close();
    this.resampler = new AudioResampler(rate, PLATFORM_SAMPLE_RATE, 1, AudioResamplerQuality.LOW);
    return this.resampler;
  }
}
