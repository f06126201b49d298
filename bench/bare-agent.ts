/**
 * The call-setup baseline for a dispatched agent: a worker registered as BARE_AGENT_NAME on
 * LiveKit's agent protocol (the call host's own WorkerConnection) that, per job, only joins the
 * room and publishes a track: what LiveKit's dispatch and an rtc-node join cost before any agent
 * work. The track sends silence until LiveKit SIP subscribes, then the offline profile's
 * greeting, rendered once at start with the host's renderer and rate (then silence): its
 * answer-to-audio time is the floor for the same greeting started with the answer, so what the
 * host adds is the difference. Run by bench/agent-calls.ts as a child. Settings in env:
 * LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, BARE_AGENT_NAME.
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
import { pino } from 'pino';
import { WorkerConnection } from '../src/callhost/worker-connection.js';
import { espeakVoiceFor } from '../src/agent/offline/espeak.js';
import { PROMPT_RATE, renderPrompt } from '../src/agent/offline/prompt-cache.js';
import { loadOfflineProfile } from '../src/agent/offline-profile.js';

const FRAME = PROMPT_RATE / 50;
const profile = loadOfflineProfile();
const greeting = await renderPrompt(
  profile.greeting,
  espeakVoiceFor(profile.language, profile.voice),
  PROMPT_RATE,
);
const jobs = new Set<string>();

/** Silence until `startsWhen`, the greeting, silence again; 20 ms frames while `running()`. */
async function greet(room: Room, running: () => boolean, startsWhen: Promise<unknown>) {
  const source = new AudioSource(PROMPT_RATE, 1, 100);
  let started = false;
  void startsWhen.then(() => (started = true));
  await room.localParticipant!.publishTrack(
    LocalAudioTrack.createAudioTrack('bare-greeting', source),
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  let at = -1;
  for (let n = 0; n < 30_000 && running(); n += 1) {
    const frame = new Int16Array(FRAME);
    if (started && at < 0) {
      // The silence still queued would only hold the greeting back.
      source.clearQueue();
      at = 0;
    }
    if (at >= 0 && at < greeting.length) {
      frame.set(greeting.subarray(at, at + FRAME));
      at += FRAME;
    }
    await source.captureFrame(new AudioFrame(frame, PROMPT_RATE, 1, FRAME));
  }
  await source.close();
}

async function answer(url: string, token: string): Promise<void> {
  const room = new Room();
  let running = true;
  room.on(RoomEvent.ParticipantDisconnected, () => (running = false));
  room.on(RoomEvent.Disconnected, () => (running = false));
  const subscribed = new Promise((resolve) => room.once(RoomEvent.LocalTrackSubscribed, resolve));
  await room.connect(url, token, { autoSubscribe: true, dynacast: false });
  await greet(room, () => running, subscribed);
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
