/**
 * The call-setup baseline for a dispatched agent: a worker registered as BARE_AGENT_NAME on
 * LiveKit's agent protocol (the call host's own WorkerConnection) that, per job, only joins the
 * room and publishes a tone: what LiveKit's dispatch and an rtc-node join cost before any agent
 * work. Run by bench/agent-calls.ts as a child. Settings in env: LIVEKIT_URL, LIVEKIT_API_KEY,
 * LIVEKIT_API_SECRET, BARE_AGENT_NAME.
 */
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { pino } from 'pino';
import { WorkerConnection } from '../src/callhost/worker-connection.js';
import { publishTone } from './tone.js';

const jobs = new Set<string>();

async function answer(url: string, token: string): Promise<void> {
  const room = new Room();
  let running = true;
  room.on(RoomEvent.ParticipantDisconnected, () => (running = false));
  room.on(RoomEvent.Disconnected, () => (running = false));
  await room.connect(url, token, { autoSubscribe: true, dynacast: false });
  await publishTone(room, () => running);
  await room.disconnect();
}

const worker = new WorkerConnection({
  url: process.env.LIVEKIT_URL!,
  apiKey: process.env.LIVEKIT_API_KEY!,
  apiSecret: process.env.LIVEKIT_API_SECRET!,
  agentName: process.env.BARE_AGENT_NAME!,
  log: pino({ level: 'warn' }),
  offer: (job) => (jobs.add(job.id), { identity: `bare-${job.id}`, name: 'bare agent' }),
  load: () => ({ load: 0, jobs: jobs.size }),
});
worker.on('registered', () => console.log('bare agent ready'));
worker.on('assignment', ({ job, url, token }) => {
  answer(url, token)
    .catch((error: unknown) => console.error('answer failed', error))
    .finally(() => jobs.delete(job.id));
});
const stop = () => {
  worker.close();
  void dispose().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await worker.start();
