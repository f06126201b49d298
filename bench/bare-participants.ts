/**
 * The capacity baseline: one process that answers every call room named `<prefix>*` with the
 * least an rtc-node participant can do (publish a tone, subscribe to the caller) and nothing else.
 * Run by bench/agent-calls.ts as a child, so its CPU is measured apart from the bench.
 * Settings come in env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, BARE_ROOM_PREFIX.
 */
import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
  dispose,
} from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';

const url = process.env.LIVEKIT_URL!;
const apiKey = process.env.LIVEKIT_API_KEY!;
const apiSecret = process.env.LIVEKIT_API_SECRET!;
const prefix = process.env.BARE_ROOM_PREFIX!;
const RATE = 48000;
const SAMPLES = RATE / 50;
// One second of 440 Hz holds whole periods, so 20 ms slices of it loop without a click.
const TONE = Int16Array.from({ length: RATE }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE)),
);

const joined = new Set<string>();
let stopping = false;

async function answer(name: string): Promise<void> {
  const token = new AccessToken(apiKey, apiSecret, { identity: 'bare-participant' });
  token.addGrant({ roomJoin: true, room: name, canPublish: true, canSubscribe: true });
  const room = new Room();
  const left = new Promise<void>((resolve) => {
    room.on(RoomEvent.ParticipantDisconnected, () => resolve());
    room.on(RoomEvent.Disconnected, () => resolve());
  });
  await room.connect(url.replace(/^http/, 'ws'), await token.toJwt(), {
    autoSubscribe: true,
    dynacast: false,
  });
  const source = new AudioSource(RATE, 1);
  const track = LocalAudioTrack.createAudioTrack('tone', source);
  await room.localParticipant!.publishTrack(
    track,
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  let running = true;
  void left.then(() => (running = false));
  // At most 10 minutes of tone: a call the bench forgot still ends.
  for (let n = 0; n < 30_000 && running && !stopping; n += 1) {
    const offset = (n * SAMPLES) % RATE;
    await source.captureFrame(
      new AudioFrame(TONE.slice(offset, offset + SAMPLES), RATE, 1, SAMPLES),
    );
  }
  await room.disconnect();
}

const rooms = new RoomServiceClient(url, apiKey, apiSecret);
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));
console.log('bare participants ready');
while (!stopping) {
  for (const room of await rooms.listRooms().catch(() => [])) {
    if (!room.name.startsWith(prefix) || joined.has(room.name)) continue;
    joined.add(room.name);
    answer(room.name).catch((error: unknown) => console.error('answer failed', error));
  }
  await new Promise((r) => setTimeout(r, 50));
}
// Let the answering loops see `stopping` and leave their rooms.
await new Promise((r) => setTimeout(r, 500));
await dispose();
process.exit(0);
