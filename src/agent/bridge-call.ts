import type { CallContext } from '../callhost/call-context.js';
import { RoomEvent } from '@livekit/rtc-node';
import type { CallDeps } from './call-session.js';
import { speakDirectly } from './direct-speech.js';
import { EspeakTTS } from './espeak-tts.js';
import type { JobMetadata } from './job-metadata.js';
import { callReporter, type CallReport } from './gateway-api.js';
import { bridgeOptionsFromProfile, runBridgeSession } from './bridge/index.js';
import { menuActionSchema, type ProfileSettings } from './profile.js';
import { prepareBridgeRecording } from './call-recording.js';
import { attachCallHold } from './hold.js';
import { takePlace } from './call-queue.js';
import { CallControl, isSipParticipant, waitUntilAnswered } from './telephony.js';

const ANSWER_TIMEOUT_MS = 120_000;

/**
 * Bridge mode: the caller's audio goes to the customer's AI platform over a WebSocket and its
 * answers are played back. The platform may ask to hang up or transfer; if it is gone for good
 * the caller hears the apology and a clean hangup.
 */
export async function runBridgeCall(
  ctx: CallContext,
  deps: CallDeps,
  settings: ProfileSettings,
  profileId: string | null,
  meta: JobMetadata,
): Promise<void> {
  const room = ctx.room;
  const roomName = room.name!;
  const log = deps.logger.child({ room: roomName, job: ctx.jobId });
  const control = new CallControl(deps.livekit, deps.api);
  const caller = await ctx.waitForParticipant();
  const transcript: NonNullable<CallReport['transcript']> = [];
  let ended = false;
  const report = callReporter(
    deps.api,
    { roomName, callerIdentity: caller.identity, profileId },
    (error) => log.error({ err: error }, 'call report failed'),
  );
  // Made once the call has its place: a wait in the queue is not recorded.
  const made: { recorder?: ReturnType<typeof prepareBridgeRecording> } = {};
  let beat: NodeJS.Timeout | undefined;
  let session: Awaited<ReturnType<typeof runBridgeSession>> | undefined;
  const finish = async (reason: string | undefined) => {
    if (ended) return;
    ended = true;
    clearInterval(beat);
    made.recorder?.recording.ended();
    await session?.close().catch(() => undefined);
    await made.recorder?.capture?.stop();
    await report({
      transcript,
      ...(reason && { ended: { at: new Date().toISOString(), reason } }),
    });
    if (reason) await control.hangup(roomName).catch(() => undefined);
    ctx.shutdown(reason ?? 'caller_left');
  };
  ctx.addShutdownCallback(() => finish(undefined));
  const voice = new EspeakTTS({ language: settings.language });
  const apologize = async (reason = 'agent_failed') => {
    if (ended) return;
    try {
      await speakDirectly(room, voice, settings.apology);
    } catch (error) {
      log.error({ err: error }, 'apology could not be spoken');
    }
    await finish(reason);
  };
  // An error nobody caught in this call ends this call alone.
  ctx.onFailure = () => apologize('agent_error');
  room.on(RoomEvent.ParticipantDisconnected, (p) => {
    if (p.identity === caller.identity) void finish(undefined);
  });

  // The concurrency limits hold for bridged calls too: a call over them waits with music before
  // the platform hears of it.
  if (meta.direction !== 'outbound') {
    beat = await takePlace({
      api: deps.api,
      caller,
      profileId,
      room,
      settings: settings.queue,
      voice,
      musicFile: deps.holdMusicFile,
      log,
      spoke: (text) => transcript.push({ at: new Date().toISOString(), speaker: 'agent', text }),
      transfer: (to) => control.transfer(roomName, caller.identity, to),
      finish,
      callerGone: () => ended,
    });
    if (!beat) return;
  }

  made.recorder = prepareBridgeRecording(ctx, settings, {
    recordingsDir: deps.recordingsDir,
    recovery: meta.recovery === true,
    log,
  });
  const { capture, recording } = made.recorder;
  if (recording.announce) {
    // Before the platform hears the call: the caller is told first.
    try {
      await speakDirectly(room, voice, recording.announce);
      transcript.push({ at: new Date().toISOString(), speaker: 'agent', text: recording.announce });
    } catch (error) {
      log.error({ err: error }, 'recording announcement could not be spoken');
    }
  }

  try {
    session = await runBridgeSession({
      capture,
      room,
      caller,
      logger: log,
      bridge: bridgeOptionsFromProfile(settings.bridge!),
      call: {
        callId: meta.call_id ?? caller.attributes['sip.callID'] ?? roomName,
        conversationId: roomName,
        fromNumber: caller.attributes['sip.phoneNumber'] ?? '',
        toNumber: caller.attributes['sip.trunkPhoneNumber'] ?? '',
        direction: meta.direction === 'outbound' ? 'outgoing' : 'incoming',
        codec: isSipParticipant(caller) ? 'PCMU' : 'opus',
        sampleRate: isSipParticipant(caller) ? 8000 : 48000,
      },
    });
  } catch (error) {
    log.error({ err: error }, 'bridge could not start');
    if (await waitUntilAnswered(room, caller, ANSWER_TIMEOUT_MS)) await apologize();
    else await finish(undefined);
    return;
  }
  const bridged = session;
  attachCallHold({
    room,
    target: {
      pause: async () => bridged.setHeld(true),
      resume: () => bridged.setHeld(false),
      onClose: (listener) => bridged.on('closed', listener),
    },
    musicFile: deps.holdMusicFile,
    log,
  });
  session.on('agentText', (text) =>
    transcript.push({ at: new Date().toISOString(), speaker: 'agent', text }),
  );
  session.on('hangup', () => void finish('agent_hangup'));
  session.on('transfer', ({ to }) => {
    if (!menuActionSchema.shape.transfer.safeParse(to).success) {
      log.warn('platform asked to transfer to an invalid target; ignored');
      return;
    }
    control
      .transfer(roomName, caller.identity, to)
      .then(() => finish('transferred'))
      .catch((error: unknown) => log.warn({ err: error }, 'transfer failed'));
  });
  session.on('failed', () => void apologize());
  session.on('closed', ({ reason }) => {
    if (reason !== 'closed') void finish(undefined);
  });
  if (await waitUntilAnswered(room, caller, ANSWER_TIMEOUT_MS)) {
    void report({ answered_at: new Date().toISOString() });
    recording.answered(report);
  }
}
