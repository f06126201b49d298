import { RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';
import {
  ACK_ATTRIBUTE,
  WARM_ANSWER_ATTRIBUTE,
  WHISPER_TRACK_ATTRIBUTE,
  type ControlMessage,
} from '../livekit/control-protocol.js';
import { publishAudioSource, type PublishedAudio } from './audio-track.js';
import { onControlCommand } from './control-commands.js';
import { speakDirectly, speakOn } from './direct-speech.js';
import { EspeakTTS } from './espeak-tts.js';

const SAMPLE_RATE = 22050;
const ASK_LINE = 'Press 1 to take the call, or 2 to decline.';
const BACK_LINE: Record<string, string> = {
  declined: 'Sorry, they could not take your call. I am back with you.',
  no_answer: 'Sorry, nobody answered. I am back with you.',
  hung_up: 'Sorry, they could not take your call. I am back with you.',
  failed: 'Sorry, the transfer did not work. I am back with you.',
};

/** What a warm transfer needs of the call's hold (src/agent/hold.ts). */
export interface WarmHold {
  hold(): Promise<void>;
  resume(): Promise<void>;
  /** Ends the music and leaves the talker paused: the caller talks to the human now. */
  stopMusic(): Promise<void>;
}

/**
 * The agent's part of a warm transfer (the API leads it, src/calls/warm-transfer.ts): the
 * caller is held, the agent speaks the summary to the human on a track of its own, which the
 * API lets only the human hear, and reports the human's key (1 accept, 2 decline) through its
 * attributes. On accept it goes silent; otherwise it takes the caller back and says so.
 */
export function attachWarmTransfer(options: {
  room: Room;
  hold: WarmHold;
  language: string;
  log: Logger;
  /** The human took the call: from now on it is theirs and the caller's alone. */
  onConnected?: (humanIdentity: string) => void;
}): void {
  const { room, hold, log } = options;
  let human: string | undefined;
  const voice = new EspeakTTS({ language: options.language });
  let whisper: PublishedAudio | undefined;
  let stopListening: (() => void) | undefined;
  /** The human is named only at warm_speak: a key pressed before (during ringing or the
   *  summary's start) is kept per participant, so a human who presses 1 early is heard. */
  let answerFor: string | undefined;
  let requestId = '';
  const early = new Map<string, string>();

  const answer = (digit: string) => {
    stopListening?.();
    stopListening = undefined;
    const outcome = `${requestId}:${digit === '1' ? 'accepted' : 'declined'}`;
    void room.localParticipant!.setAttributes({ [WARM_ANSWER_ATTRIBUTE]: outcome });
    log.info({ digit }, 'warm transfer answered by the human');
  };

  const listen = () => {
    if (stopListening) return;
    early.clear();
    answerFor = undefined;
    const onKey = (_code: number, digit: string, participant: RemoteParticipant) => {
      if (!['1', '2'].includes(digit)) return;
      if (answerFor === undefined) {
        if (!early.has(participant.identity)) early.set(participant.identity, digit);
        return;
      }
      if (participant.identity === answerFor) answer(digit);
    };
    room.on(RoomEvent.DtmfReceived, onKey);
    stopListening = () => room.off(RoomEvent.DtmfReceived, onKey);
  };

  const closeWhisper = async () => {
    stopListening?.();
    stopListening = undefined;
    await whisper?.close().catch(() => undefined);
    whisper = undefined;
  };

  const prepare = async (): Promise<Record<string, string>> => {
    await hold.hold();
    // From before the human's leg joins: their first key is never missed.
    listen();
    whisper ??= await publishAudioSource(room, 'whisper', SAMPLE_RATE, 1000);
    const sid = [...room.localParticipant!.trackPublications.values()].find(
      (p) => p.name === 'whisper',
    )?.sid;
    return { [WHISPER_TRACK_ATTRIBUTE]: sid ?? '' };
  };

  const speak = (message: Extract<ControlMessage, { action: 'warm_speak' }>) => {
    human = message.human_identity;
    requestId = message.request_id;
    listen();
    answerFor = message.human_identity;
    const pressed = early.get(message.human_identity);
    early.clear();
    if (pressed) {
      // The human answered before the summary: no need to hear it.
      answer(pressed);
      return;
    }
    const source = whisper?.source;
    if (!source) return;
    void speakOn(
      source,
      voice,
      `${message.summary} ${ASK_LINE}`,
      () => whisper?.source === source,
    ).catch((error: unknown) => log.warn({ err: error }, 'warm transfer summary failed'));
  };

  const end = async (message: Extract<ControlMessage, { action: 'warm_end' }>) => {
    await closeWhisper();
    if (message.outcome === 'accepted') {
      await hold.stopMusic();
      if (human) options.onConnected?.(human);
      return;
    }
    await hold.resume();
    void speakDirectly(room, voice, BACK_LINE[message.outcome]!).catch(() => undefined);
  };

  onControlCommand(room, log, ['warm_prepare', 'warm_speak', 'warm_end'], async (message) => {
    try {
      let attributes: Record<string, string> = {};
      if (message.action === 'warm_prepare') attributes = await prepare();
      else if (message.action === 'warm_speak') speak(message);
      else await end(message);
      await room.localParticipant!.setAttributes({
        ...attributes,
        [ACK_ATTRIBUTE]: message.request_id,
      });
      log.info({ action: message.action }, 'call control command carried out');
    } catch (error) {
      log.error({ err: error, action: message.action }, 'call control command failed');
    }
  });
}
