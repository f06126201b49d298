import { setTimeout as sleep } from 'node:timers/promises';
import type { RemoteParticipant, Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';
import { speakDirectly } from './direct-speech.js';
import type { EspeakTTS } from './espeak-tts.js';
import type { AdmitAnswer, AdmitRequest, GatewayApi } from './gateway-api.js';
import { holdMusic } from './hold.js';
import { playHoldMusic } from './hold-music.js';
import type { ProfileSettings } from './profile.js';

const POLL_MS = 1000;
/** An admitted call's heartbeat: its place is given back if these stop (the agent died). */
const ADMITTED_BEAT_MS = 10_000;

type QueueOutcome = 'admitted' | 'timeout' | 'caller_left' | 'forwarded';

/**
 * Holds the call until the limits give it a place: the caller hears music on hold and, at the
 * profile's interval, their place in the queue; the agent does not listen meanwhile. Returns
 * once admitted, when the longest wait ran out, or when the caller left. An API that cannot be
 * reached lets the call through: the limits are a service, not a reason to drop calls. A call
 * its number forwards (always, closed, or no room left) gets no agent: the API forwards it.
 */
async function waitForPlace(options: {
  api: GatewayApi;
  request: AdmitRequest;
  /** The first answer, when it was asked for ahead (see askForPlace). */
  firstAnswer?: Promise<AdmitAnswer>;
  room: Room;
  /** Stops (true) and resumes (false) listening to the caller while they wait. */
  pauseListening?: (paused: boolean) => void;
  settings: ProfileSettings['queue'];
  voice: EspeakTTS;
  musicFile: string | undefined;
  log: Logger;
  callerGone: () => boolean;
}): Promise<QueueOutcome> {
  const { api, request, room, settings, log } = options;
  const ask = () => admitOrLetThrough(api, request, log);
  let answer = await (options.firstAnswer ?? ask());
  if (answer.state === 'active') return 'admitted';
  if (answer.state === 'forwarded') return 'forwarded';

  log.info({ position: answer.position }, 'call waits in the queue');
  options.pauseListening?.(true);
  const music = await holdMusic(options.musicFile, log);
  let stopMusic: (() => Promise<void>) | undefined;
  const announce = async (position: number) => {
    await stopMusic?.();
    stopMusic = undefined;
    const text = settings.position_message.replaceAll('{position}', String(position));
    await speakDirectly(room, options.voice, text).catch((error: unknown) =>
      log.warn({ err: error }, 'queue position could not be spoken'),
    );
    if (!options.callerGone()) stopMusic = await playHoldMusic(room, music);
  };

  const started = Date.now() - answer.waited_seconds * 1000;
  const announceEveryMs = settings.announce_position_seconds * 1000;
  let announcedAt = Date.now();
  try {
    if (announceEveryMs > 0) await announce(answer.position);
    else stopMusic = await playHoldMusic(room, music);
    // Bounded by the longest wait: each round sleeps a second.
    for (;;) {
      if (options.callerGone()) return 'caller_left';
      if (Date.now() - started >= settings.max_wait_seconds * 1000) return 'timeout';
      await sleep(POLL_MS);
      answer = await ask();
      if (answer.state === 'active') return 'admitted';
      if (answer.state === 'forwarded') return 'forwarded';
      if (announceEveryMs > 0 && Date.now() - announcedAt >= announceEveryMs) {
        announcedAt = Date.now();
        await announce(answer.position);
      }
    }
  } finally {
    await stopMusic?.();
    options.pauseListening?.(false);
  }
}

/** The admission route's answer; an API that cannot be reached lets the call through. */
async function admitOrLetThrough(
  api: GatewayApi,
  request: AdmitRequest,
  log: Logger,
): Promise<AdmitAnswer> {
  try {
    return await api.admit(request);
  } catch (error) {
    log.error({ err: error }, 'admission check failed; the call goes through');
    return { state: 'active', waited_seconds: 0 };
  }
}

/** A call's first question for a place, asked while it still rings (see askForPlace). */
export interface EarlyAdmission {
  readonly request: AdmitRequest;
  readonly answer: Promise<AdmitAnswer>;
}

/**
 * Asks for an inbound call's place at once, so the answer is there when the call is answered
 * and the greeting is not held back by a round trip to the API. Pass it to takePlace.
 */
export function askForPlace(options: {
  api: GatewayApi;
  room: Room;
  caller: RemoteParticipant;
  profileId: string | null;
  log: Logger;
}): EarlyAdmission {
  const request = admissionRequest(options.room.name!, options.caller, options.profileId);
  return { request, answer: admitOrLetThrough(options.api, request, options.log) };
}

/** What the admission route needs to know of an inbound call, from its SIP participant. */
function admissionRequest(
  roomName: string,
  caller: RemoteParticipant,
  profileId: string | null,
): AdmitRequest {
  return {
    room_name: roomName,
    livekit_trunk_id: caller.attributes['sip.trunkID'] ?? null,
    livekit_rule_id: caller.attributes['sip.ruleID'] ?? null,
    to_number: caller.attributes['sip.trunkPhoneNumber'] ?? null,
    from_number: caller.attributes['sip.phoneNumber'] ?? null,
    agent_profile_id: profileId,
  };
}

/** Keeps an admitted call's place: every ADMITTED_BEAT_MS, until the returned timer is cleared. */
function beatWhileTalking(api: GatewayApi, request: AdmitRequest): NodeJS.Timeout {
  return setInterval(
    () => void api.admit({ ...request, in_call: true }).catch(() => undefined),
    ADMITTED_BEAT_MS,
  );
}

/** The longest wait in the queue ran out: say so, then transfer (if the profile says where) or hang up. */
async function leaveQueue(options: {
  room: Room;
  voice: EspeakTTS;
  settings: ProfileSettings['queue'];
  log: Logger;
  /** Records what was said in the call's transcript. */
  spoke: (text: string) => void;
  transfer: (to: string) => Promise<void>;
  finish: (reason: string) => Promise<void>;
  /**
   * The API forwards the call: the agent stays (an agent leaving a live call is replaced, see
   * src/agent-api/recovery.ts) until the forward ends it.
   */
  awaitForward: () => void;
  callerGone: () => boolean;
}): Promise<void> {
  const { settings, log } = options;
  log.info('queue wait ran out');
  try {
    await speakDirectly(options.room, options.voice, settings.timeout_message);
    options.spoke(settings.timeout_message);
  } catch (error) {
    log.error({ err: error }, 'queue timeout message could not be spoken');
  }
  if (settings.timeout_transfer_to && !options.callerGone()) {
    try {
      await options.transfer(settings.timeout_transfer_to);
      await options.finish('queue_transferred');
      return;
    } catch (error) {
      log.warn({ err: error }, 'transfer after the queue wait failed');
    }
  }
  await options.finish('queue_timeout');
}

/**
 * An inbound call's place under the limits, start to finish: waits for it (music, position
 * announcements), leaves the queue when the wait runs out, and once admitted keeps the place
 * with beats. Returns the beat timer to clear at the end, or undefined when the call is over.
 */
export async function takePlace(
  options: Omit<Parameters<typeof waitForPlace>[0], 'request'> &
    Omit<Parameters<typeof leaveQueue>[0], 'settings'> & {
      caller: RemoteParticipant;
      profileId: string | null;
      /** The question asked ahead by askForPlace, if it was. */
      early?: EarlyAdmission;
    },
): Promise<NodeJS.Timeout | undefined> {
  const request =
    options.early?.request ??
    admissionRequest(options.room.name!, options.caller, options.profileId);
  const outcome = await waitForPlace({
    ...options,
    request,
    ...(options.early && { firstAnswer: options.early.answer }),
  });
  if (outcome === 'caller_left' || options.callerGone()) return undefined;
  if (outcome === 'forwarded') {
    options.log.info('the number forwards this call; the agent stays silent');
    options.pauseListening?.(true);
    options.awaitForward();
    return undefined;
  }
  if (outcome === 'timeout') {
    await leaveQueue(options);
    return undefined;
  }
  return beatWhileTalking(options.api, request);
}
