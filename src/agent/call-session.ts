import { voice } from '@livekit/agents';
import { RoomEvent, type RemoteParticipant } from '@livekit/rtc-node';
import type { CallContext } from '../callhost/call-context.js';
import type { Logger } from '../config/logger.js';
import { EspeakTTS } from './espeak-tts.js';
import { speakDirectly } from './direct-speech.js';
import { callReporter, type CallReport, type GatewayApi } from './gateway-api.js';
import { parseJobMetadata } from './job-metadata.js';
import { profileSettingsSchema, type MenuAction, type ProfileSettings } from './profile.js';
import { runBridgeCall } from './bridge-call.js';
import { callTools, type CallActions } from './call-tools.js';
import { prepareCallRecording } from './call-recording.js';
import { takePlace } from './call-queue.js';
import { agentSessionHold, attachCallHold } from './hold.js';
import { CallControl, waitUntilAnswered, type LivekitCredentials } from './telephony.js';
import { TurnLatencyRecorder } from './turn-latency.js';
import { buildVoiceSession } from './voice-session.js';
import type { VadPool } from './vad-pool.js';
import { effectiveRecording } from './call-recording.js';
import { livePartialReports, RESUME_LINE, runOfflineCall } from './offline-call.js';
import type { PromptCache } from './offline/index.js';

export interface CallDeps {
  /** The host's VADs, one per silence window, shared by its calls. */
  vads: VadPool;
  /** The host's rendered prompts (offline calls), shared by its calls. */
  prompts: PromptCache;
  api: GatewayApi;
  livekit: LivekitCredentials;
  offlineProfile: ProfileSettings;
  logger: Logger;
  recordingsDir: string;
  holdMusicFile: string | undefined;
}

const ANSWER_TIMEOUT_MS = 120_000;
const CALLER_JOIN_TIMEOUT_MS = 60_000;
const MIN_UTTERANCE_MS = 400;

type Transcript = NonNullable<CallReport['transcript']>;

async function loadProfile(deps: CallDeps, ref: string | null | undefined) {
  if (!ref) return { id: null, settings: deps.offlineProfile };
  const profile = await deps.api.profile(ref);
  return { id: profile.id, settings: profileSettingsSchema.parse(profile.settings) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen in ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}

async function earlierTranscript(deps: CallDeps, callId: string, log: Logger): Promise<Transcript> {
  try {
    return await deps.api.transcript(callId);
  } catch (error) {
    log.error({ err: error }, 'transcript of the lost agent could not be read; going on without');
    return [];
  }
}

/** One call, from the agent joining the room to the call's end. */
export async function runCall(ctx: CallContext, deps: CallDeps): Promise<void> {
  const meta = parseJobMetadata(ctx.job.metadata);
  const log = deps.logger.child({ room: ctx.job.room?.name, job: ctx.jobId });
  const room = ctx.room;
  const roomName = room.name!;
  const control = new CallControl(deps.livekit, deps.api);
  const transcript: Transcript = [];
  const fallbackVoice = new EspeakTTS({ language: deps.offlineProfile.language });

  let profileId: string | null = null;
  let settings: ProfileSettings = deps.offlineProfile;
  let profileError: unknown;
  try {
    ({ id: profileId, settings } = await loadProfile(deps, meta.agent_profile_id));
  } catch (error) {
    profileError = error;
  }

  if (settings.mode === 'bridge' && profileError === undefined) {
    await runBridgeCall(ctx, deps, settings, profileId, meta);
    return;
  }
  // An agent taking over a call from a lost one goes on from the call's transcript so far.
  const earlier =
    meta.recovery && meta.call_id ? await earlierTranscript(deps, meta.call_id, log) : [];
  transcript.push(...earlier);

  // Offline calls take the host's cheap path (no agents-library session); one the profile
  // records takes the session path, whose recorder captures both sides.
  const recorded = effectiveRecording(settings, ctx.metadata)?.enabled === true && !meta.recovery;
  if (settings.mode === 'offline' && profileError === undefined && !recorded) {
    let caller: RemoteParticipant;
    try {
      caller = await withTimeout(ctx.waitForParticipant(), CALLER_JOIN_TIMEOUT_MS, 'caller join');
    } catch {
      log.warn('no caller joined the room; the agent leaves');
      ctx.shutdown('no_caller');
      return;
    }
    await runOfflineCall(ctx, deps, { caller, settings, profileId, meta, log, earlier });
    return;
  }

  const actions: { current?: CallActions } = {};
  let parts: Awaited<ReturnType<typeof buildVoiceSession>>;
  try {
    parts = await buildVoiceSession(settings, {
      vad: await deps.vads.get(settings.endpointing.vad_silence_seconds * 1000),
      tools: callTools(settings, () => actions.current),
      history: earlier,
    });
  } catch (error) {
    // A provider that cannot be built (missing API key...) must not leave the caller ringing.
    profileError = error;
    settings = deps.offlineProfile;
    parts = await buildVoiceSession(settings, {
      vad: await deps.vads.get(settings.endpointing.vad_silence_seconds * 1000),
    });
  }
  const { session, agent } = parts;
  const vadSilenceMs = settings.endpointing.vad_silence_seconds * 1000;
  // First of the shutdown callbacks: the recording's finalisation needs the recorder closed.
  ctx.addShutdownCallback(() => session.close());
  const latency = new TurnLatencyRecorder(session, vadSilenceMs);
  const recording = prepareCallRecording(ctx, session, settings, {
    recordingsDir: deps.recordingsDir,
    recovery: meta.recovery === true,
    log,
  });
  // Start at once: LiveKit SIP answers only when a track of the room is subscribed.
  await session.start({ agent, room, ...recording.startOptions });

  let caller: RemoteParticipant;
  try {
    caller = await withTimeout(ctx.waitForParticipant(), CALLER_JOIN_TIMEOUT_MS, 'caller join');
  } catch {
    log.warn('no caller joined the room; the agent leaves');
    ctx.shutdown('no_caller');
    return;
  }

  let ended = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => (timers.delete(t), fn()), ms);
    timers.add(t);
    return t;
  };
  const report = callReporter(
    deps.api,
    { roomName, callerIdentity: caller.identity, profileId },
    (error) => log.error({ err: error }, 'call report failed'),
  );

  const finish = async (reason: string | undefined) => {
    if (ended) return;
    ended = true;
    recording.ended();
    for (const t of timers) clearTimeout(t);
    await report({
      transcript,
      latency: latency.turns,
      ...(reason && { ended: { at: new Date().toISOString(), reason } }),
    });
    if (reason) await control.hangup(roomName).catch(() => undefined);
    ctx.shutdown(reason ?? 'caller_left');
  };
  // The room can go away under the call (hung up through the API): its timers stop with it.
  ctx.addShutdownCallback(() => finish(undefined));

  const partial = livePartialReports(report, transcript);
  const scripted = new Set<string>();
  const say = (text: string) => {
    scripted.add(text);
    transcript.push({ at: new Date().toISOString(), speaker: 'agent', text });
    partial();
    return session.say(text, { allowInterruptions: settings.allow_interruptions });
  };

  const apologizeAndHangUp = async (reason: string) => {
    if (ended) return;
    log.error({ reason }, 'agent failed mid-call; apologising and hanging up');
    await session.interrupt({ force: true }).await.catch(() => undefined);
    try {
      await speakDirectly(room, fallbackVoice, settings.apology);
      transcript.push({ at: new Date().toISOString(), speaker: 'agent', text: settings.apology });
    } catch (error) {
      log.error({ err: error }, 'apology could not be spoken');
    }
    await finish(reason);
  };
  // An error nobody caught in this call ends this call alone.
  ctx.onFailure = () => apologizeAndHangUp('agent_error');

  room.on(RoomEvent.ParticipantDisconnected, (p) => {
    if (p.identity === caller.identity) void finish(undefined);
  });
  session.on(voice.AgentSessionEventTypes.Error, (ev) => {
    if (!ev.error.recoverable) void apologizeAndHangUp('agent_failed');
  });
  session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
    const item = ev.item;
    if (item.type !== 'message' || !item.textContent) return;
    partial();
    if (item.role === 'user') {
      transcript.push({
        at: new Date().toISOString(),
        speaker: 'caller',
        text: item.textContent.trim(),
      });
    } else if (item.role === 'assistant' && !scripted.delete(item.textContent)) {
      // An LLM reply; what say() spoke is in the transcript already, in the order it was said.
      transcript.push({
        at: new Date().toISOString(),
        speaker: 'agent',
        text: item.textContent.trim(),
      });
    }
  });

  const answered = await waitUntilAnswered(room, caller, ANSWER_TIMEOUT_MS);
  if (!answered) {
    await finish(undefined);
    return;
  }
  if (!meta.recovery) void report({ answered_at: new Date().toISOString() });
  recording.answered(report);

  if (profileError !== undefined) {
    log.error({ err: profileError }, 'agent profile could not be loaded');
    await apologizeAndHangUp('agent_failed');
    return;
  }
  if (meta.direction !== 'outbound' && !meta.recovery) {
    const beat = await takePlace({
      api: deps.api,
      caller,
      profileId,
      room,
      pauseListening: (paused) => session.input.setAudioEnabled(!paused),
      settings: settings.queue,
      voice: fallbackVoice,
      musicFile: deps.holdMusicFile,
      log,
      spoke: (text) => transcript.push({ at: new Date().toISOString(), speaker: 'agent', text }),
      transfer: (to) => control.transfer(roomName, caller.identity, to),
      finish,
      callerGone: () => ended,
    });
    if (!beat) return;
    timers.add(beat);
  }

  later(settings.max_call_duration_seconds * 1000, () => {
    void say('We have reached the time limit for this call. Goodbye.')
      .waitForPlayout()
      .finally(() => void finish('max_duration'));
  });

  let silenceTimer: NodeJS.Timeout | undefined;
  const hold = attachCallHold({
    room,
    target: agentSessionHold(session),
    musicFile: deps.holdMusicFile,
    log,
    onHold: () => (clearTimeout(silenceTimer), (silenceTimer = undefined)),
  });
  session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
    if (ev.newState === 'away' && !silenceTimer && !hold.held) {
      say('Are you still there?');
      silenceTimer = later(settings.silence_timeout_seconds * 1000, () => {
        void say('I did not hear anything, so I will hang up now. Goodbye.')
          .waitForPlayout()
          .finally(() => void finish('silence_timeout'));
      });
    } else if (ev.newState === 'speaking' && silenceTimer) {
      clearTimeout(silenceTimer);
      timers.delete(silenceTimer);
      silenceTimer = undefined;
    }
  });

  const transfer = async (to: string) => {
    try {
      await control.transfer(roomName, caller.identity, to);
      await finish('transferred');
      return true;
    } catch (error) {
      log.warn({ err: error }, 'transfer failed');
      return false;
    }
  };
  actions.current = { hangUp: finish, transfer };

  const runAction = async (action: MenuAction) => {
    let playing = action.repeat && settings.ivr ? say(settings.ivr.prompt) : undefined;
    if (action.say) playing = say(action.say);
    if (!action.transfer && !action.hangup) return;
    await playing?.waitForPlayout();
    if (action.transfer) {
      if (!(await transfer(action.transfer))) say('Sorry, the transfer did not go through.');
      return;
    }
    await finish('agent_hangup');
  };

  room.on(RoomEvent.DtmfReceived, (_code, digit, participant) => {
    if (participant.identity !== caller.identity || ended || hold.held) return;
    transcript.push({ at: new Date().toISOString(), speaker: 'caller', text: `[DTMF ${digit}]` });
    partial();
    latency.turnEndedAt(Date.now());
    if (silenceTimer) clearTimeout(silenceTimer);
    silenceTimer = undefined;
    session.interrupt();
    const menu = settings.ivr;
    if (menu) {
      const action = menu.options[digit];
      void (action ? runAction(action) : Promise.resolve(say(menu.invalid)));
    } else if (settings.mode === 'pipeline') {
      session.generateReply({ userInput: `The caller pressed the key ${digit}.` });
    }
  });

  if (settings.mode === 'offline') {
    let nextReply = 0;
    let speakingSince = 0;
    session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
      if (ev.newState === 'speaking') speakingSince = ev.createdAt;
      if (ev.oldState !== 'speaking' || ev.newState !== 'listening' || ended) return;
      // A cough or a key's tone is not something said: the script answers utterances only.
      if (ev.createdAt - speakingSince - vadSilenceMs < MIN_UTTERANCE_MS) return;
      const reply = settings.replies[Math.min(nextReply++, settings.replies.length - 1)];
      if (reply) say(reply);
    });
  }

  if (meta.recovery) {
    say(RESUME_LINE);
    return;
  }
  if (recording.announce) say(recording.announce);
  if (settings.greeting) say(settings.greeting);
  else if (settings.mode === 'pipeline') session.generateReply();
}
