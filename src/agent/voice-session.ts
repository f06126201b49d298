import { llm, voice, type VAD } from '@livekit/agents';
import { EspeakTTS } from './espeak-tts.js';
import type { ProfileSettings } from './profile.js';
import type * as Providers from './providers/index.js';

export interface VoiceSessionParts {
  session: voice.AgentSession;
  agent: voice.Agent;
}

/**
 * The rate the session reads the caller's audio at. A phone line carries 8 kHz: reading it at
 * that rate (LiveKit resamples natively) lets the 8 kHz VAD and the recognizer take the frames as
 * they are, where the agents library's 24 kHz default made each call resample twice in
 * JavaScript. A web user's microphone is read at 16 kHz, the recognizers' wideband rate.
 */
export function callerAudioRate(phoneCall: boolean): number {
  return phoneCall ? 8000 : 16000;
}

/** The VAD's silence window until a profile sets its own (endpointing.vad_silence_seconds). */
export const PHONE_VAD_SILENCE_MS = 300;

/**
 * Builds the voice session of a profile. Endpointing is tuned for phone calls: LiveKit's defaults
 * (550 ms of VAD silence, then 500 ms more) make a caller wait over a second for any answer.
 */
export async function buildVoiceSession(
  settings: ProfileSettings,
  options: {
    vad: VAD;
    tools?: llm.ToolContextLike;
    /** The call so far (a call taken over from a lost agent): the LLM's chat context. */
    history?: { speaker: 'caller' | 'agent'; text: string }[];
    env?: Record<string, string | undefined>;
    /** The rate the session reads the caller at (callerAudioRate). */
    callerRate?: number;
  },
): Promise<VoiceSessionParts> {
  const turnHandling = {
    // Offline there is no transcript to make a turn of: the dialog script reacts to the VAD.
    turnDetection: settings.mode === 'offline' ? ('manual' as const) : ('vad' as const),
    endpointing: {
      minDelay: settings.endpointing.min_delay_seconds * 1000,
      maxDelay: settings.endpointing.max_delay_seconds * 1000,
    },
    interruption: {
      enabled: settings.allow_interruptions,
      mode: 'vad' as const,
      minDuration: 300,
    },
  };
  const env = options.env ?? process.env;
  const pipeline = settings.mode === 'pipeline';
  // Loaded only when a profile uses them: an offline call's process does without the plugins.
  const { createLlm, createStt, createTts } = pipeline
    ? await import('./providers/index.js')
    : ({} as Partial<typeof Providers>);
  // The schema makes stt, llm and tts present in pipeline mode.
  const tts =
    pipeline && settings.tts && createTts
      ? createTts(settings.tts, env)
      : new EspeakTTS({ language: settings.language, voice: settings.voice });
  const session = new voice.AgentSession({
    vad: options.vad,
    tts,
    ...(pipeline && settings.stt && settings.llm && createStt && createLlm
      ? {
          stt: createStt(settings.stt, env, options.callerRate),
          llm: createLlm(settings.llm, env),
        }
      : {}),
    turnHandling,
    userAwayTimeout: settings.silence_timeout_seconds,
    // The agent's own voice does not come back on a phone line's separate track.
    aecWarmupDuration: null,
  });
  let chatCtx: llm.ChatContext | undefined;
  if (options.history?.length) {
    chatCtx = llm.ChatContext.empty();
    for (const line of options.history) {
      chatCtx.addMessage({
        role: line.speaker === 'caller' ? 'user' : 'assistant',
        content: line.text,
      });
    }
  }
  const agent = new voice.Agent({
    instructions: settings.system_prompt,
    ...(chatCtx && { chatCtx }),
    ...(options.tools && { tools: options.tools }),
  });
  return { session, agent };
}
