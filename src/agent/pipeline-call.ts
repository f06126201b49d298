import { voice } from '@livekit/agents';
import type { CallContext } from '../callhost/call-context.js';
import type { Logger } from '../kernel/logger.js';
import type { TranscriptLine } from '../contract/index.js';
import {
  CallLifecycle,
  IvrRunner,
  joinedCaller,
  RESUME_LINE,
  type CallDeps,
} from './call-lifecycle/index.js';
import { prepareCallRecording } from './call-recording.js';
import { callTools, type CallActions } from './call-tools.js';
import { CallerAudioInput } from './caller-audio-input.js';
import { InbandKeys } from './call-lifecycle/inband-keys.js';
import { speakDirectly } from './direct-speech.js';
import { sendDigits } from './send-dtmf.js';
import { EspeakTTS } from './espeak-tts.js';
import { agentSessionHold } from './hold.js';
import type { JobMetadata } from './job-metadata.js';
import type { ProfileSettings } from './profile.js';
import { TurnLatencyRecorder } from './turn-latency.js';
import { isSipParticipant } from './telephony.js';
import { buildVoiceSession, callerAudioRate } from './voice-session.js';

const MIN_UTTERANCE_MS = 400;

/**
 * Whether the call is on a phone line, before its caller may be in the room: a rule's or an
 * outbound call's dispatch is one, and a recovered call's caller is already there.
 */
function isPhoneCall(ctx: CallContext, meta: JobMetadata): boolean {
  if (!meta.recovery && (meta.dispatch_rule_id || meta.call_id)) return true;
  return [...ctx.room.remoteParticipants.values()].some(isSipParticipant);
}

/**
 * A call on an agents-library session (VAD, STT, LLM, TTS): pipeline mode, and offline calls
 * the profile records (the session's recorder captures both sides).
 */
export async function runPipelineCall(
  ctx: CallContext,
  deps: CallDeps,
  call: {
    settings: ProfileSettings;
    profileId: string | null;
    /** The profile could not be loaded: the caller hears the apology once answered. */
    profileError: unknown;
    meta: JobMetadata;
    log: Logger;
    /** The call so far when this agent takes over from one that was lost. */
    earlier: TranscriptLine[];
  },
): Promise<void> {
  const { meta, log, earlier } = call;
  let { settings, profileError } = call;
  const room = ctx.room;
  const fallbackVoice = new EspeakTTS({ language: deps.offlineProfile.language });

  const actions: { current?: CallActions } = {};
  const phoneCall = isPhoneCall(ctx, meta);
  const callerRate = callerAudioRate(phoneCall);
  let parts: Awaited<ReturnType<typeof buildVoiceSession>>;
  try {
    parts = await buildVoiceSession(settings, {
      vad: await deps.vads.get(settings.endpointing.vad_silence_seconds * 1000),
      tools: callTools(settings, () => actions.current),
      history: earlier,
      callerRate,
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
    ffmpegPath: deps.ffmpegPath,
    recovery: meta.recovery === true,
    log,
  });
  // In-band DTMF on the frames the session reads anyway; the keys go where RFC 2833's go once
  // the call's lifecycle takes them (onKey).
  const tones: { heard?: (digit: string) => void } = {};
  const keys =
    settings.dtmf_mode === 'rfc2833' ? undefined : new InbandKeys((digit) => tones.heard?.(digit));
  // Set before start, the session reads this input instead of the room input's own.
  session.input.audio = new CallerAudioInput(room, { sampleRate: callerRate, keys });
  // Start at once: LiveKit SIP answers only when a track of the room is subscribed.
  // The agent's voice is published at the TTS's rate: the room output's 24 kHz default would
  // resample every frame in JavaScript. A phone caller cannot read the room's transcription
  // stream, so a phone call sends none (word by word, it cost every call on the host).
  await session.start({
    agent,
    room,
    // The session reads the input set above; the room input would warn that it keeps it.
    inputOptions: { audioEnabled: false },
    outputOptions: {
      transcriptionEnabled: !phoneCall,
      ...(session.tts && { audioSampleRate: session.tts.sampleRate }),
    },
    ...recording.startOptions,
  });

  const caller = await joinedCaller(ctx, log);
  if (!caller) return;
  const lc = new CallLifecycle(ctx, deps, {
    caller,
    profileId: call.profileId,
    settings,
    meta,
    log,
    earlier,
    liveTranscript: true,
    talker: {
      apologize: async (text) => {
        await session.interrupt({ force: true }).await.catch(() => undefined);
        await speakDirectly(room, fallbackVoice, text);
      },
      pauseListening: (paused) => session.input.setAudioEnabled(!paused),
      latency: () => latency.turns,
    },
  });
  lc.record(recording);
  tones.heard = (digit) => lc.inbandKey(digit);

  const scripted = new Set<string>();
  // What the session's TTS is (as buildVoiceSession chose it): the pipeline profile's TTS
  // settings, or espeak-ng's language and voice.
  const voiceKey = JSON.stringify(
    settings.mode === 'pipeline' && settings.tts
      ? settings.tts
      : { espeak: settings.language, voice: settings.voice },
  );
  const say = (text: string) => {
    scripted.add(text);
    lc.transcript.said(text);
    const audio = session.tts && deps.spoken.audio(voiceKey, text, session.tts);
    return session.say(text, {
      allowInterruptions: settings.allow_interruptions,
      ...(audio && { audio }),
    });
  };
  const sayThrough = (text: string) => say(text).waitForPlayout();

  session.on(voice.AgentSessionEventTypes.Error, (ev) => {
    if (!ev.error.recoverable) void lc.apologizeAndHangUp('agent_failed');
  });
  session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
    const item = ev.item;
    if (item.type !== 'message' || !item.textContent) return;
    if (item.role === 'user') {
      lc.transcript.heard(item.textContent.trim());
    } else if (item.role === 'assistant' && !scripted.delete(item.textContent)) {
      // An LLM reply; what say() spoke is in the transcript already, in the order it was said.
      lc.transcript.said(item.textContent.trim());
    }
  });

  if (!(await lc.answered())) {
    await lc.finish(undefined);
    return;
  }
  if (!(await lc.screenForMachine(sayThrough))) return;
  if (profileError !== undefined) {
    log.error({ err: profileError }, 'agent profile could not be loaded');
    await lc.apologizeAndHangUp('agent_failed');
    return;
  }
  if (!meta.recovery && !(await lc.takePlace(fallbackVoice))) return;
  lc.limitDuration(sayThrough);

  let silenceTimer: NodeJS.Timeout | undefined;
  lc.attachHold(
    agentSessionHold(session),
    () => (lc.cancel(silenceTimer), (silenceTimer = undefined)),
  );
  session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
    if (ev.newState === 'away' && !silenceTimer && !lc.held) {
      say('Are you still there?');
      silenceTimer = lc.later(settings.silence_timeout_seconds * 1000, () => {
        void sayThrough('I did not hear anything, so I will hang up now. Goodbye.').finally(
          () => void lc.finish('silence_timeout'),
        );
      });
    } else if (ev.newState === 'speaking' && silenceTimer) {
      lc.cancel(silenceTimer);
      silenceTimer = undefined;
    }
  });
  actions.current = {
    hangUp: (reason) => lc.finish(reason),
    transfer: (to, mode) => lc.transfer(to, mode),
    sendDigits: (digits) => sendDigits(room, digits),
  };

  const ivr = new IvrRunner(lc, settings.ivr, {
    say: sayThrough,
    // The LLM takes over from the menu, told what the caller chose there.
    handToAgent: (context) => {
      if (settings.mode === 'pipeline') session.generateReply({ userInput: context });
    },
  });
  lc.onKey((digit) => {
    latency.turnEndedAt(Date.now());
    lc.cancel(silenceTimer);
    silenceTimer = undefined;
    session.interrupt();
    if (!ivr.press(digit) && settings.mode === 'pipeline') {
      session.generateReply({ userInput: `The caller pressed the key ${digit}.` });
    }
  });

  if (settings.mode === 'offline') {
    let nextReply = 0;
    let speakingSince = 0;
    session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
      if (ev.newState === 'speaking') speakingSince = ev.createdAt;
      if (ev.oldState !== 'speaking' || ev.newState !== 'listening' || lc.ended) return;
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
  if (settings.greeting) ivr.start(say(settings.greeting).waitForPlayout());
  else if (settings.mode === 'pipeline') session.generateReply();
}
