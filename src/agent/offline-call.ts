import type { RemoteParticipant } from '@livekit/rtc-node';
import type { CallContext } from '../callhost/call-context.js';
import type { Logger } from '../kernel/logger.js';
import type { TranscriptLine } from '../contract/index.js';
import { CallLifecycle, IvrRunner, RESUME_LINE, type CallDeps } from './call-lifecycle/index.js';
import { EspeakTTS } from './espeak-tts.js';
import type { JobMetadata } from './job-metadata.js';
import { OfflineTalker } from './offline/index.js';
import type { ProfileSettings } from './profile.js';
import { roomTranscript } from './room-transcript.js';
import type { TurnLatency } from './turn-latency.js';

/**
 * The offline profile on the host's cheap path: prompts from the host's cache on one track,
 * the caller heard by a cheap speech detector, no agents-library session. Same behaviour as the
 * session path (menu, replies, silence timeout, max duration, queue, hold, report); a call the
 * profile records takes the session path, whose recorder captures both sides.
 */
export async function runOfflineCall(
  ctx: CallContext,
  deps: CallDeps,
  call: {
    caller: RemoteParticipant;
    settings: ProfileSettings;
    profileId: string | null;
    meta: JobMetadata;
    log: Logger;
    /** The call so far when this agent takes over from one that was lost. */
    earlier: TranscriptLine[];
  },
): Promise<void> {
  const { caller, settings, meta, log } = call;
  const latency: TurnLatency[] = [];
  const talker = new OfflineTalker(ctx.room, caller, settings, deps.prompts, log);
  // Rendered once per profile text for the whole host; the greeting usually is already.
  void deps.prompts.warm(settings).catch(() => undefined);
  ctx.addShutdownCallback(() => talker.close());
  const lc = new CallLifecycle(ctx, deps, {
    ...call,
    liveTranscript: true,
    talker: {
      apologize: async (text) => {
        talker.interrupt();
        await talker.say(text).done.catch(() => undefined);
      },
      pauseListening: (paused) => talker.setListening(!paused),
      latency: () => latency,
    },
  });

  /** A turn's latency: from the end of the caller's turn to the agent's first audio. */
  let turnEndedAt: number | undefined;
  const showInRoom = roomTranscript(ctx.room, caller);
  const say = (text: string) => {
    lc.transcript.said(text);
    showInRoom?.(text);
    if (turnEndedAt !== undefined) {
      const total = Math.max(0, Date.now() - turnEndedAt);
      latency.push({
        at: new Date().toISOString(),
        total_ms: total,
        endpointing_ms: null,
        stt_ms: null,
        llm_ms: null,
        tts_ms: null,
      });
      turnEndedAt = undefined;
    }
    const handle = talker.say(text);
    handle.done.then(armSilence, () => undefined);
    return handle.done.catch(() => undefined);
  };

  await talker.ready;
  if (!(await lc.answered())) return lc.finish(undefined);
  if (!(await lc.screenForMachine(say))) return;
  if (!meta.recovery && !(await lc.takePlace(new EspeakTTS({ language: settings.language })))) {
    return;
  }
  lc.limitDuration(say);

  // Silence: asked once after silence_timeout_seconds with nobody talking, hung up after as
  // long again (what the session path's "away" state does).
  let silenceTimer: NodeJS.Timeout | undefined;
  let asked = false;
  lc.attachHold(talker, () => (lc.cancel(silenceTimer), (silenceTimer = undefined)));
  function armSilence() {
    lc.cancel(silenceTimer);
    if (lc.ended || lc.held || talker.speaking || talker.callerSpeaking) return;
    silenceTimer = lc.later(settings.silence_timeout_seconds * 1000, () => {
      if (lc.ended || lc.held) return;
      if (!asked) {
        asked = true;
        void say('Are you still there?');
        return;
      }
      void say('I did not hear anything, so I will hang up now. Goodbye.').finally(
        () => void lc.finish('silence_timeout'),
      );
    });
  }
  talker.on('speechStarted', () => {
    asked = false;
    lc.cancel(silenceTimer);
  });

  // Handed to the agent, an offline call goes on with its scripted replies.
  const ivr = new IvrRunner(lc, settings.ivr, { say });
  lc.onKey((digit) => {
    turnEndedAt = Date.now();
    lc.cancel(silenceTimer);
    talker.interrupt();
    ivr.press(digit);
  });
  talker.on('dtmf', ({ digit }) => lc.inbandKey(digit));

  // The script goes on where the call was: replies already said are not said again.
  let nextReply = call.earlier.filter(
    (t) => t.speaker === 'agent' && settings.replies.includes(t.text),
  ).length;
  talker.on('speechEnded', ({ endedAt }) => {
    // The detector reports only utterances that count (a cough or a key's tone does not).
    if (lc.ended || lc.held) return;
    turnEndedAt = endedAt;
    const reply = settings.replies[Math.min(nextReply++, settings.replies.length - 1)];
    if (reply) void say(reply);
    else armSilence();
  });

  if (meta.recovery) {
    void say(RESUME_LINE);
    return;
  }
  if (settings.greeting) ivr.start(say(settings.greeting));
  else {
    ivr.start();
    armSilence();
  }
}
