import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';

export interface ToneParticipant {
  room: Room;
  /** Publishes a final transcript segment of the tone track, as an agent does for its speech. */
  say(text: string): Promise<void>;
  /** Identities whose audio this participant has subscribed to. */
  heard: Set<string>;
  stop(): Promise<void>;
}

/**
 * A stand-in for the agent (until the agent worker exists): joins the room and publishes a
 * 440 Hz tone, 20 ms frames, for at most `seconds`.
 */
export async function startToneParticipant(options: {
  wsUrl: string;
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  seconds: number;
}): Promise<ToneParticipant> {
  const token = new AccessToken(options.apiKey, options.apiSecret, { identity: options.identity });
  token.addGrant({ roomJoin: true, room: options.room, canPublish: true, canSubscribe: true });
  const room = new Room();
  const heard = new Set<string>();
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub, participant) => {
    if (track.kind === TrackKind.KIND_AUDIO) heard.add(participant.identity);
  });
  await room.connect(options.wsUrl, await token.toJwt(), { autoSubscribe: true, dynacast: false });
  const rate = 48000;
  const source = new AudioSource(rate, 1);
  const track = LocalAudioTrack.createAudioTrack('tone', source);
  const publication = await room.localParticipant!.publishTrack(
    track,
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  let running = true;
  const samples = rate / 50;
  const frames = options.seconds * 50;
  const loop = (async () => {
    for (let n = 0; n < frames && running; n += 1) {
      const data = new Int16Array(samples);
      for (let i = 0; i < samples; i += 1) {
        data[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * samples + i)) / rate));
      }
      await source.captureFrame(new AudioFrame(data, rate, 1, samples));
    }
  })();
  let segment = 0;
  return {
    room,
    heard,
    async say(text: string) {
      segment += 1;
      // As LiveKit Agents 1.x publish transcripts: a text stream on lk.transcription.
      await room.localParticipant!.sendText(text, {
        topic: 'lk.transcription',
        attributes: {
          'lk.transcription_final': 'true',
          'lk.segment_id': `seg-${segment}`,
          'lk.transcribed_track_id': publication.sid ?? '',
        },
      });
    },
    async stop() {
      running = false;
      await loop;
      await room.disconnect();
    },
  };
}
