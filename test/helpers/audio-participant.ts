import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import type { StackInfo } from './stack-info.js';

/** What a participant heard from another, one entry per received 10 ms frame. */
export interface Heard {
  /** Wall-clock ms at which each frame arrived, and its peak sample magnitude. */
  frames: { at: number; peak: number }[];
  /** Arrival time of the first frame after `since` whose peak passes `level`. */
  firstLoudAfter(since: number, level?: number): number | undefined;
  /** Arrival time of the last frame whose peak passes `level`. */
  lastLoud(level?: number): number | undefined;
  stop(): Promise<void>;
}

export interface AudioParticipant {
  room: Room;
  /** Plays mono samples at `rate` in real time on the participant's microphone track. */
  play(samples: Int16Array, rate: number): Promise<void>;
  /** Records what `identity` publishes (its first audio track), as it arrives. */
  listen(identity: string): Promise<Heard>;
  /** Resolves once `identity` is in the room. */
  participant(identity: string): Promise<RemoteParticipant>;
  leave(): Promise<void>;
}

export const LOUD = 500;

/** A bare rtc-node participant in a room of the test stack: a caller, or the agent's side. */
export async function joinRoom(
  stack: Pick<StackInfo, 'apiKey' | 'apiSecret' | 'livekitWsUrl'>,
  roomName: string,
  identity: string,
  options: { publishRate?: number } = {},
): Promise<AudioParticipant> {
  const token = new AccessToken(stack.apiKey, stack.apiSecret, { identity });
  token.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true });
  const room = new Room();
  await room.connect(stack.livekitWsUrl, await token.toJwt(), {
    autoSubscribe: true,
    dynacast: false,
  });
  let source: AudioSource | undefined;
  const rate = options.publishRate ?? 48_000;
  if (options.publishRate !== undefined) {
    // A second queued ahead: a stall of this (busy) test process does not gap the audio sent.
    source = new AudioSource(rate, 1, 1000);
    await room.localParticipant!.publishTrack(
      LocalAudioTrack.createAudioTrack('microphone', source),
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );
  }
  const streams: ReturnType<AudioStream['getReader']>[] = [];

  const participant = (who: string) =>
    new Promise<RemoteParticipant>((resolve) => {
      const found = room.remoteParticipants.get(who);
      if (found) return resolve(found);
      const on = (p: RemoteParticipant) => {
        if (p.identity !== who) return;
        room.off(RoomEvent.ParticipantConnected, on);
        resolve(p);
      };
      room.on(RoomEvent.ParticipantConnected, on);
    });

  const trackOf = (who: string) =>
    new Promise<RemoteTrack>((resolve) => {
      const existing = [...(room.remoteParticipants.get(who)?.trackPublications.values() ?? [])]
        .map((p) => p.track)
        .find((t) => t?.kind === TrackKind.KIND_AUDIO);
      if (existing) return resolve(existing as RemoteTrack);
      const on = (track: RemoteTrack, _pub: unknown, p: RemoteParticipant) => {
        if (p.identity !== who || track.kind !== TrackKind.KIND_AUDIO) return;
        room.off(RoomEvent.TrackSubscribed, on);
        resolve(track);
      };
      room.on(RoomEvent.TrackSubscribed, on);
    });

  return {
    room,
    participant,
    async play(samples, sampleRate) {
      if (!source) throw new Error('joinRoom without publishRate has no microphone');
      if (sampleRate !== rate) throw new Error(`the microphone plays at ${rate} Hz`);
      const size = rate / 100;
      for (let at = 0; at < samples.length; at += size) {
        const chunk = new Int16Array(size);
        chunk.set(samples.subarray(at, Math.min(at + size, samples.length)));
        await source.captureFrame(new AudioFrame(chunk, rate, 1, size));
      }
      await source.waitForPlayout();
    },
    async listen(who) {
      const track = await trackOf(who);
      const reader = new AudioStream(track, { sampleRate: 48_000, numChannels: 1 }).getReader();
      streams.push(reader);
      const frames: Heard['frames'] = [];
      const reading = (async () => {
        for (;;) {
          const { done, value } = await reader
            .read()
            .catch(() => ({ done: true, value: undefined }));
          if (done || !value) return;
          let peak = 0;
          for (const x of value.data) if (Math.abs(x) > peak) peak = Math.abs(x);
          frames.push({ at: Date.now(), peak });
        }
      })();
      return {
        frames,
        firstLoudAfter: (since, level = LOUD) =>
          frames.find((f) => f.at >= since && f.peak > level)?.at,
        lastLoud: (level = LOUD) => frames.findLast((f) => f.peak > level)?.at,
        async stop() {
          await reader.cancel().catch(() => undefined);
          await reading;
        },
      };
    },
    async leave() {
      for (const r of streams) await r.cancel().catch(() => undefined);
      await source?.close();
      await room.disconnect();
    },
  };
}
