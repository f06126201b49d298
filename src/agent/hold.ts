import { voice } from '@livekit/agents';
import type { Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';
import { ACK_ATTRIBUTE, HOLD_ATTRIBUTE, type ControlMessage } from '../livekit/control-protocol.js';
import { onControlCommand } from './control-commands.js';
import { attachWarmTransfer } from './warm-transfer.js';
import { HoldMusicError, defaultHoldMelody, loadHoldMusic, playHoldMusic } from './hold-music.js';

let music: Promise<Int16Array> | undefined;

/** The music of this host process, loaded once for all its calls; a bad HOLD_MUSIC_FILE falls back to the melody. */
export function holdMusic(file: string | undefined, log: Logger): Promise<Int16Array> {
  music ??= loadHoldMusic(file).catch((error: unknown) => {
    if (!(error instanceof HoldMusicError)) throw error;
    log.error({ err: error }, 'hold music file unusable; playing the built-in melody');
    return defaultHoldMelody();
  });
  return music;
}

export interface CallHold {
  /** True while the caller is held: key presses and silence checks are ignored. */
  readonly held: boolean;
}

/** What holding means for the call's talker: an agent session, or a bridge to a platform. */
export interface HoldTarget {
  /** Stops speaking to and listening to the caller. */
  pause(): Promise<void>;
  /** Listens again where it was. */
  resume(): void;
  /** Registers what to do when the talker ends (the music must stop with it). */
  onClose(listener: () => void): void;
}

/**
 * Hold and resume on the API's command (see onControlCommand). On hold the talker stops speaking and listening and
 * the caller hears music on a track of its own; on resume the music stops and the talker
 * listens again where it was. Each command is acknowledged through the agent's attributes.
 */
export function attachCallHold(options: {
  room: Room;
  target: HoldTarget;
  musicFile: string | undefined;
  log: Logger;
  /** Called when the hold starts (e.g. to stop a pending silence timeout). */
  onHold?: () => void;
  /** The language the agent speaks a warm transfer's summary in. */
  language: string;
  /** A warm transfer's human took the call. */
  onConnected?: (humanIdentity: string) => void;
}): CallHold {
  const { room, target, log } = options;
  const state = { held: false };
  let stopMusic: (() => Promise<void>) | undefined;

  const hold = async () => {
    if (state.held) return;
    state.held = true;
    options.onHold?.();
    await target.pause();
    stopMusic = await playHoldMusic(room, await holdMusic(options.musicFile, log));
  };
  const resume = async () => {
    if (!state.held) return;
    await stopMusic?.();
    stopMusic = undefined;
    target.resume();
    state.held = false;
  };

  const run = async (message: ControlMessage & { action: 'hold' | 'resume' }) => {
    try {
      await (message.action === 'hold' ? hold() : resume());
      await room.localParticipant!.setAttributes({
        [HOLD_ATTRIBUTE]: state.held ? 'on' : 'off',
        [ACK_ATTRIBUTE]: message.request_id,
      });
      log.info({ action: message.action }, 'call control command carried out');
    } catch (error) {
      log.error({ err: error, action: message.action }, 'call control command failed');
    }
  };

  onControlCommand(room, log, ['hold', 'resume'], run);
  const stopOnly = async () => {
    await stopMusic?.();
    stopMusic = undefined;
  };
  attachWarmTransfer({
    room,
    log,
    language: options.language,
    hold: { hold, resume, stopMusic: stopOnly },
    ...(options.onConnected && { onConnected: options.onConnected }),
  });
  target.onClose(() => void stopMusic?.());
  return state;
}

/** Holding an agent session: what it says is cut off, and it stops listening. */
export function agentSessionHold(session: voice.AgentSession): HoldTarget {
  return {
    async pause() {
      await session.interrupt({ force: true }).await.catch(() => undefined);
      session.input.setAudioEnabled(false);
    },
    resume: () => session.input.setAudioEnabled(true),
    onClose: (listener) => session.on(voice.AgentSessionEventTypes.Close, listener),
  };
}
