import { RoomEvent, type RemoteParticipant } from '@livekit/rtc-node';
import type { CallContext } from '../callhost/call-context.js';
import type { Logger } from '../config/logger.js';
import type { CallDeps } from './call-session.js';
import { takePlace } from './call-queue.js';
import { callReporter, type CallReport } from './gateway-api.js';
import { attachCallHold } from './hold.js';
import type { JobMetadata } from './job-metadata.js';
import { OfflineTalker } from './offline/index.js';
import type { MenuAction, ProfileSettings } from './profile.js';
import { CallControl, waitUntilAnswered } from './telephony.js';
import type { TurnLatency } from './turn-latency.js';
import { EspeakTTS } from './espeak-tts.js';

const ANSWER_TIMEOUT_MS = 120_000;

type Transcript = NonNullable<CallReport['transcript']>;

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
    earlier: Transcript;
  },
): Promise<void> {
  const { caller, settings, profileId, meta, log } = call;
  const room = ctx.room;
  const roomName = room.name!;
  const control = new CallControl(deps.livekit, deps.api);
  const transcript: Transcript = [...call.earlier];
  const latency: TurnLatency[] = [];
  const talker = new OfflineTalker(room, caller, settings, deps.prompts, log);
  // Rendered once per profile text for the whole host; the greeting usually is already.
  void deps.prompts.warm(settings).catch(() => undefined);
  ctx.addShutdownCallback(() => talker.close());

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
    (e) => log.error({ err: e }, 'call report failed'),
  );
  const finish = async (reason: string | undefined) => {
    if (ended) return;
    ended = true;
    for (const t of timers) clearTimeout(t);
    await report({
      transcript,
      latency,
      ...(reason && { ended: { at: new Date().toISOString(), reason } }),
    });
    if (reason) await control.hangup(roomName).catch(() => undefined);
    ctx.shutdown(reason ?? 'caller_left');
  };
  ctx.addShutdownCallback(() => finish(undefined));
  const partial = livePartialReports(report, transcript);

  /** A turn's latency: from the end of the caller's turn to the agent's first audio. */
  let turnEndedAt: number | undefined;
  const say = (text: string) => {
    transcript.push({ at: new Date().toISOString(), speaker: 'agent', text });
    partial();
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
  const apologizeAndHangUp = async (reason: string) => {
    if (ended) return;
    log.error({ reason }, 'agent failed mid-call; apologising and hanging up');
    talker.interrupt();
    await say(settings.apology);
    await finish(reason);
  };
  ctx.onFailure = () => apologizeAndHangUp('agent_error');
  room.on(RoomEvent.ParticipantDisconnected, (p) => {
    if (p.identity === caller.identity) void finish(undefined);
  });

  await talker.ready;
  const answered = await waitUntilAnswered(room, caller, ANSWER_TIMEOUT_MS);
  if (!answered) return finish(undefined);
  if (!meta.recovery) void report({ answered_at: new Date().toISOString() });

  if (meta.direction !== 'outbound' && !meta.recovery) {
    const beat = await takePlace({
      api: deps.api,
      caller,
      profileId,
      room,
      pauseListening: (paused) => talker.setListening(!paused),
      settings: settings.queue,
      voice: new EspeakTTS({ language: settings.language }),
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
    void say('We have reached the time limit for this call. Goodbye.').finally(
      () => void finish('max_duration'),
    );
  });

  // Silence: asked once after silence_timeout_seconds with nobody talking, hung up after as
  // long again (what the session path's "away" state does).
  let silenceTimer: NodeJS.Timeout | undefined;
  let asked = false;
  const hold = attachCallHold({
    room,
    target: talker,
    musicFile: deps.holdMusicFile,
    log,
    onHold: () => (clearTimeout(silenceTimer), (silenceTimer = undefined)),
  });
  function armSilence() {
    clearTimeout(silenceTimer);
    if (ended || hold.held || talker.speaking || talker.callerSpeaking) return;
    silenceTimer = later(settings.silence_timeout_seconds * 1000, () => {
      if (ended || hold.held) return;
      if (!asked) {
        asked = true;
        void say('Are you still there?');
        return;
      }
      void say('I did not hear anything, so I will hang up now. Goodbye.').finally(
        () => void finish('silence_timeout'),
      );
    });
  }
  talker.on('speechStarted', () => {
    asked = false;
    clearTimeout(silenceTimer);
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
  const runAction = async (action: MenuAction) => {
    let playing = action.repeat && settings.ivr ? say(settings.ivr.prompt) : undefined;
    if (action.say) playing = say(action.say);
    if (!action.transfer && !action.hangup) return;
    await playing;
    if (action.transfer) {
      if (!(await transfer(action.transfer))) void say('Sorry, the transfer did not go through.');
      return;
    }
    await finish('agent_hangup');
  };

  room.on(RoomEvent.DtmfReceived, (_code, digit, participant) => {
    if (participant.identity !== caller.identity || ended || hold.held) return;
    transcript.push({ at: new Date().toISOString(), speaker: 'caller', text: `[DTMF ${digit}]` });
    turnEndedAt = Date.now();
    clearTimeout(silenceTimer);
    talker.interrupt();
    const menu = settings.ivr;
    if (!menu) return;
    const action = menu.options[digit];
    void (action ? runAction(action) : say(menu.invalid));
  });

  // The script goes on where the call was: replies already said are not said again.
  let nextReply = call.earlier.filter(
    (t) => t.speaker === 'agent' && settings.replies.includes(t.text),
  ).length;
  talker.on('speechEnded', ({ endedAt }) => {
    // The detector reports only utterances that count (a cough or a key's tone does not).
    if (ended || hold.held) return;
    turnEndedAt = endedAt;
    const reply = settings.replies[Math.min(nextReply++, settings.replies.length - 1)];
    if (reply) void say(reply);
    else armSilence();
  });

  if (meta.recovery) {
    void say(RESUME_LINE);
    return;
  }
  if (settings.greeting) void say(settings.greeting);
  else armSilence();
}

/** What an agent taking over a call from a lost one says first. */
export const RESUME_LINE = 'Sorry, where were we?';

/**
 * The transcript so far goes to the API while the call runs (at most once a second, not sent
 * to customers): if this host dies, the agent that takes over reads it.
 */
export function livePartialReports(
  report: (extra: Partial<CallReport>) => Promise<void>,
  transcript: Transcript,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void report({ transcript, partial: true });
    }, 1000);
    timer.unref();
  };
}
