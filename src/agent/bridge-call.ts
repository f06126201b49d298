import type { CallContext } from '../callhost/call-context.js';
import {
  bridgeOptionsFromProfile,
  runBridgeSession,
  type TransferFailure,
} from './bridge/index.js';
import { CallLifecycle, joinedCaller, type CallDeps } from './call-lifecycle/index.js';
import { prepareBridgeRecording } from './call-recording.js';
import { speakDirectly } from './direct-speech.js';
import { EspeakTTS } from './espeak-tts.js';
import { GatewayApiError } from './gateway-api.js';
import type { JobMetadata } from './job-metadata.js';
import { transferTargetSchema, type ProfileSettings } from './profile.js';
import { isSipParticipant } from './telephony.js';

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
  const caller = await joinedCaller(ctx, log);
  if (!caller) return;
  const voice = new EspeakTTS({ language: settings.language });
  // Made once the call has its place: a wait in the queue is not recorded.
  const made: { recorder?: ReturnType<typeof prepareBridgeRecording> } = {};
  let session: Awaited<ReturnType<typeof runBridgeSession>> | undefined;
  const lc = new CallLifecycle(ctx, deps, {
    caller,
    profileId,
    settings,
    meta,
    log,
    talker: {
      apologize: (text) => speakDirectly(room, voice, text),
      // While machine detection listens (outbound calls): the platform neither hears nor speaks.
      pauseListening: (paused) => session?.setScreening(paused),
      close: async () => {
        await session?.close().catch(() => undefined);
        await made.recorder?.capture?.stop();
      },
    },
  });

  // The concurrency limits hold for bridged calls too: a call over them waits with music before
  // the platform hears of it.
  if (!(await lc.takePlace(voice))) return;

  made.recorder = prepareBridgeRecording(ctx, settings, {
    recordingsDir: deps.recordingsDir,
    ffmpegPath: deps.ffmpegPath,
    recovery: meta.recovery === true,
    log,
  });
  const { capture, recording } = made.recorder;
  lc.record(recording);
  if (recording.announce) {
    // Before the platform hears the call: the caller is told first.
    try {
      await speakDirectly(room, voice, recording.announce);
      lc.transcript.said(recording.announce);
    } catch (error) {
      log.error({ err: error }, 'recording announcement could not be spoken');
    }
  }

  const outbound = meta.direction === 'outbound';
  const farNumber = caller.attributes['sip.phoneNumber'] ?? '';
  const ourNumber = caller.attributes['sip.trunkPhoneNumber'] ?? '';
  try {
    session = await runBridgeSession({
      capture,
      room,
      caller,
      logger: log,
      bridge: bridgeOptionsFromProfile(settings.bridge!),
      dtmfMode: settings.dtmf_mode,
      call: {
        callId: meta.call_id ?? caller.attributes['sip.callID'] ?? roomName,
        conversationId: roomName,
        // The SIP participant's number is the far end's: the caller inbound, the callee outbound.
        fromNumber: outbound ? ourNumber : farNumber,
        toNumber: outbound ? farNumber : ourNumber,
        direction: outbound ? 'outgoing' : 'incoming',
        codec: isSipParticipant(caller) ? 'PCMU' : 'opus',
        sampleRate: isSipParticipant(caller) ? 8000 : 48000,
      },
    });
  } catch (error) {
    log.error({ err: error }, 'bridge could not start');
    // LiveKit SIP answers an inbound call once the agent publishes: the apology answers it (and
    // the answer is reported). An outbound call is answered by the callee, or never.
    if (meta.direction !== 'outbound') {
      void lc.answered();
      await lc.apologizeAndHangUp('agent_failed');
    } else if (await lc.waitForAnswer()) await lc.apologizeAndHangUp('agent_failed');
    else await lc.finish(undefined);
    return;
  }
  const bridged = session;
  lc.attachHold({
    pause: async () => bridged.setHeld(true),
    resume: () => bridged.setHeld(false),
    onClose: (listener) => bridged.on('closed', listener),
  });
  session.on('agentText', (text) => lc.transcript.said(text));
  session.on('hangup', () => void lc.finish('agent_hangup'));
  session.on('transfer', ({ to, mode, summary }) => {
    if (!transferTargetSchema.safeParse(to).success) {
      log.warn('platform asked to transfer to an invalid target; refused');
      bridged.transferFailed(to, 'invalid_target');
      return;
    }
    void lc.transfer(
      to,
      mode,
      (error) => {
        const { reason, code } = transferFailure(error);
        bridged.transferFailed(to, reason, code);
      },
      summary,
    );
  });
  session.on('failed', () => void lc.apologizeAndHangUp('agent_failed'));
  session.on('closed', ({ reason }) => {
    if (reason !== 'closed') void lc.finish(undefined);
  });
  if (!(await lc.answered())) return;
  // An outbound call's machine detection, as in the other modes; the platform is told the verdict.
  const onMachine = settings.machine_detection.on_machine;
  await lc.screenForMachine(
    async (text) => {
      await speakDirectly(room, voice, text);
      lc.transcript.said(text);
    },
    (answeredBy) =>
      bridged.machineDetected({ answeredBy, ...(answeredBy === 'machine' && { onMachine }) }),
  );
}

/**
 * What the platform is told of a transfer the API did not make: refused by the destination
 * policy (403), a target the API does not take (400), or tried and failed (the SIP answer, the
 * API unreachable); `code` is the API's error code when it gave one.
 */
function transferFailure(error: unknown): { reason: TransferFailure; code?: string } {
  if (!(error instanceof GatewayApiError)) return { reason: 'failed' };
  const { code } = error;
  const reason =
    error.status === 403 ? 'refused' : error.status === 400 ? 'invalid_target' : 'failed';
  return { reason, ...(code !== undefined && { code }) };
}
