import { setTimeout as sleep } from 'node:timers/promises';
import type { voice } from '@livekit/agents';
import type { Room } from '@livekit/rtc-node';
import type { Logger } from '../config/logger.js';
import { speakDirectly } from './direct-speech.js';
import type { EspeakTTS } from './espeak-tts.js';
import type { AdmitAnswer, AdmitRequest, GatewayApi } from './gateway-api.js';
import { holdMusic } from './hold.js';
import { playHoldMusic } from './hold-music.js';
import type { ProfileSettings } from './profile.js';

const POLL_MS = 1000;
/** An admitted call's heartbeat: its place is given back if these stop (the agent died). */
export const ADMITTED_BEAT_MS = 10_000;

export type QueueOutcome = 'admitted' | 'timeout' | 'caller_left';

/**
 * Holds the call until the limits give it a place: the caller hears music on hold and, at the
 * profile's interval, their place in the queue; the agent does not listen meanwhile. Returns
 * once admitted, when the longest wait ran out, or when the caller left. An API that cannot be
 * reached lets the call through: the limits are a service, not a reason to drop calls.
 */
export async function waitForPlace(options: {
  api: GatewayApi;
  request: AdmitRequest;
  room: Room;
  session: voice.AgentSession;
  settings: ProfileSettings['queue'];
  voice: EspeakTTS;
  musicFile: string | undefined;
  log: Logger;
  callerGone: () => boolean;
}): Promise<QueueOutcome> {
  const { api, request, room, settings, log } = options;
  const ask = async (): Promise<AdmitAnswer> => {
    try {
      return await api.admit(request);
    } catch (error) {
      log.error({ err: error }, 'admission check failed; the call goes through');
      return { state: 'active', waited_seconds: 0 };
    }
  };
  let answer = await ask();
  if (answer.state === 'active') return 'admitted';

  log.info({ position: answer.position }, 'call waits in the queue');
  options.session.input.setAudioEnabled(false);
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
      if (announceEveryMs > 0 && Date.now() - announcedAt >= announceEveryMs) {
        announcedAt = Date.now();
        await announce(answer.position);
      }
    }
  } finally {
    await stopMusic?.();
    options.session.input.setAudioEnabled(true);
  }
}
