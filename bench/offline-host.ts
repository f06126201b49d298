/**
 * One process answering OFFLINE_CALLS rooms (`<OFFLINE_ROOM_PREFIX><n>`) with the offline
 * profile, either as OfflineTalkers (OFFLINE_MODE=talker) or as @livekit/agents AgentSessions
 * with one shared Silero VAD (OFFLINE_MODE=session, what a job process runs today). Run by
 * bench/offline-calls.ts as a child, so its CPU is measured apart from the callers'. Prints one
 * JSON line a second: {cpuUs, rss, heard, said}.
 */
import { Room, dispose, type RemoteParticipant } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { pino } from 'pino';
import { loadOfflineProfile } from '../src/agent/offline-profile.js';
import { OfflineTalker, PromptCache } from '../src/agent/offline/index.js';
import { publishTone } from './tone.js';

const url = process.env.LIVEKIT_URL!;
const apiKey = process.env.LIVEKIT_API_KEY!;
const apiSecret = process.env.LIVEKIT_API_SECRET!;
const prefix = process.env.OFFLINE_ROOM_PREFIX!;
const calls = Number(process.env.OFFLINE_CALLS);
const mode = process.env.OFFLINE_MODE as 'talker' | 'session' | 'bare';
const settings = loadOfflineProfile();
const counts = { heard: 0, said: 0 };

async function join(name: string): Promise<{ room: Room; caller: RemoteParticipant }> {
  const token = new AccessToken(apiKey, apiSecret, { identity: 'agent' });
  token.addGrant({ roomJoin: true, room: name, canPublish: true, canSubscribe: true });
  const room = new Room();
  await room.connect(url, await token.toJwt(), { autoSubscribe: true, dynacast: false });
  const caller =
    room.remoteParticipants.get('caller') ??
    (await new Promise<RemoteParticipant>((resolve) => {
      room.on('participantConnected', (p: RemoteParticipant) => {
        if (p.identity === 'caller') resolve(p);
      });
    }));
  return { room, caller };
}

/** The offline script's audio part: greet, then a reply after each utterance. */
async function runTalkers(): Promise<void> {
  // OFFLINE_PROMPT_RATE: the rate prompts are published at (default PROMPT_RATE, 48 kHz).
  const rate = process.env.OFFLINE_PROMPT_RATE;
  const cache = new PromptCache(rate ? { rate: Number(rate) } : {});
  await cache.warm(settings);
  const log = pino({ level: 'silent' });
  await Promise.all(
    Array.from({ length: calls }, async (_, n) => {
      const { room, caller } = await join(`${prefix}${n}`);
      const talker = new OfflineTalker(room, caller, settings, cache, log);
      await talker.ready;
      let reply = 0;
      talker.on('speechEnded', () => {
        counts.heard += 1;
        counts.said += 1;
        talker.say(settings.replies[reply++ % settings.replies.length]!);
      });
      counts.said += 1;
      talker.say(settings.greeting);
    }),
  );
}

/** What call-session.ts runs per call for the offline profile, many in one process. */
async function runSessions(): Promise<void> {
  // Loaded only in this mode, so a talker process holds no agents framework (as in the host).
  const { initializeLogger, voice } = await import('@livekit/agents');
  const silero = await import('@livekit/agents-plugin-silero');
  const { buildVoiceSession } = await import('../src/agent/voice-session.js');
  initializeLogger({ pretty: false, level: 'error' });
  const vad = (await silero.VAD.load({
    sampleRate: 8000,
    minSilenceDuration: settings.endpointing.vad_silence_seconds * 1000,
    minSpeechDuration: 100,
  })) as InstanceType<typeof silero.VAD>;
  await Promise.all(
    Array.from({ length: calls }, async (_, n) => {
      const { room } = await join(`${prefix}${n}`);
      const { session, agent } = await buildVoiceSession(settings, { vad });
      await session.start({ agent, room, inputOptions: { participantIdentity: 'caller' } });
      let reply = 0;
      session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
        if (ev.oldState !== 'speaking' || ev.newState !== 'listening') return;
        counts.heard += 1;
        counts.said += 1;
        session.say(settings.replies[reply++ % settings.replies.length]!);
      });
      counts.said += 1;
      session.say(settings.greeting);
    }),
  );
}

/**
 * The baseline in the same run: what bench/bare-participants.ts does per call (publish a tone,
 * subscribe to the caller, nothing else), in this process.
 */
async function runBare(): Promise<void> {
  await Promise.all(
    Array.from({ length: calls }, async (_, n) => {
      const { room } = await join(`${prefix}${n}`);
      void publishTone(room, () => room.isConnected);
    }),
  );
}

const report = setInterval(() => {
  const cpu = process.cpuUsage();
  const line = { cpuUs: cpu.user + cpu.system, rss: process.memoryUsage().rss, ...counts };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, 1000);

process.on('SIGTERM', () => {
  clearInterval(report);
  void dispose().finally(() => process.exit(0));
});

await (mode === 'talker' ? runTalkers() : mode === 'bare' ? runBare() : runSessions());
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
