/**
 * The capacity baseline: one process that answers every call room named `<prefix>*` with the
 * least an rtc-node participant can do (publish a tone, subscribe to the caller) and nothing else.
 * Run by bench/agent-calls.ts as a child, so its CPU is measured apart from the bench.
 * Settings come in env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, BARE_ROOM_PREFIX.
 */
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { publishTone } from './tone.js';

const url = process.env.LIVEKIT_URL!;
const apiKey = process.env.LIVEKIT_API_KEY!;
const apiSecret = process.env.LIVEKIT_API_SECRET!;
const prefix = process.env.BARE_ROOM_PREFIX!;
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
  let running = true;
  void left.then(() => (running = false));
  await publishTone(room, () => running && !stopping);
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
