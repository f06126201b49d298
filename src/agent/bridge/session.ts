import { EventEmitter } from 'node:events';
import { RoomEvent, type AudioFrame, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';
import { publishAudioSource } from '../audio-track.js';
import { InbandKeys } from '../call-lifecycle/inband-keys.js';
import { KeyFilter, type DtmfMode, type KeySource } from '../call-lifecycle/keys.js';
import { CallerAudio } from './caller-audio.js';
import type { BridgeCallInfo, BridgeOptions } from './options.js';
import type { TransferFailure, TransferRequest } from './messages.js';
import {
  AiPlatformBridge,
  PLATFORM_SAMPLE_RATE,
  type BridgeEvents,
  type BridgeStats,
  type MachineVerdict,
} from './platform-bridge.js';
import { Playout } from './playout.js';

export const AGENT_TRACK_NAME = 'agent';
export const AGENT_SAMPLE_RATE = 48_000;
// Small, so a `clear` from the platform silences the caller quickly.
const SOURCE_QUEUE_MS = 200;

export interface BridgeSessionOptions {
  /** Connected room; its local participant publishes the agent's audio. */
  room: Room;
  /** Whose microphone goes to the platform and whose DTMF is forwarded. */
  caller: RemoteParticipant;
  call: BridgeCallInfo;
  bridge: BridgeOptions;
  logger: Logger;
  /**
   * Where the keys sent to the platform come from (the profile's dtmf_mode): RFC 2833 events,
   * tones in the caller's audio (heard on the frames sent to the platform), or both, a key
   * heard both ways sent once. Default rfc2833.
   */
  dtmfMode?: DtmfMode;
  /** Gets both sides as they go: the caller's frames sent, the platform's frames played. */
  capture?: {
    callerFrame(frame: Int16Array): void;
    agentFrame(frame: AudioFrame): void;
  };
}

export interface BridgeSessionStats extends BridgeStats {
  /** 20 ms frames of platform audio played to the caller. */
  playedFrames: number;
  /** Platform audio frames dropped because the playout queue was full. */
  playoutDropped: number;
}

export interface BridgeSessionEvents {
  /** The platform's `response.data.text`: the agent's transcript line. */
  agentText: [text: string];
  /** The platform asked to end the call; the worker hangs up. */
  hangup: [info: { reason?: string }];
  /** The platform asked to transfer; the worker checks the destination and transfers. */
  transfer: [info: TransferRequest];
  connected: BridgeEvents['connected'];
  disconnected: BridgeEvents['disconnected'];
  /** The platform is gone for good; the caller hears silence until the worker acts. */
  failed: BridgeEvents['failed'];
  /** The session stopped: `close()` was called, the caller left or the room disconnected. */
  closed: [info: { reason: 'closed' | 'caller-left' | 'room-disconnected' }];
  /** The call was put on hold: what was playing is dropped. */
  held: [];
}

export interface BridgeSession extends EventEmitter<BridgeSessionEvents> {
  readonly bridge: AiPlatformBridge;
  stats(): BridgeSessionStats;
  /**
   * On hold: the platform gets no caller audio or DTMF, and what it sends is not played (the
   * platform keeps its socket; the protocol has no hold message). Off: both flow again.
   */
  setHeld(held: boolean): void;
  readonly held: boolean;
  /**
   * While machine detection listens to who answered an outbound call: as on hold, the platform
   * gets no audio or DTMF and what it sends is not played (but no music plays).
   */
  setScreening(on: boolean): void;
  readonly screening: boolean;
  /** Tells the platform who answered (a `machine_detection` frame). */
  machineDetected(verdict: MachineVerdict): void;
  /** Tells the platform its transfer did not happen (a `transfer_failed` frame). */
  transferFailed(to: string, reason: TransferFailure, code?: string): void;
  /** Stops audio both ways, closes the platform socket, unpublishes the agent track. */
  close(): Promise<void>;
}

class SessionHandle extends EventEmitter<BridgeSessionEvents> implements BridgeSession {
  held = false;
  screening = false;

  constructor(
    readonly bridge: AiPlatformBridge,
    private readonly statsOf: () => BridgeSessionStats,
    private readonly stopSession: () => Promise<void>,
    /** Runs as the call is muted (hold, screening): what plays and what was half heard go. */
    private readonly onMuted: () => void,
  ) {
    super();
  }

  stats(): BridgeSessionStats {
    return this.statsOf();
  }

  setHeld(held: boolean): void {
    this.held = held;
    if (held) {
      this.onMuted();
      this.emit('held');
    }
  }

  setScreening(on: boolean): void {
    this.screening = on;
    if (on) this.onMuted();
  }

  /** True while the caller's audio and keys are kept from the platform. */
  get muted(): boolean {
    return this.held || this.screening;
  }

  machineDetected(verdict: MachineVerdict): void {
    this.bridge.sendMachineDetection(verdict);
  }

  transferFailed(to: string, reason: TransferFailure, code?: string): void {
    this.bridge.sendTransferFailed(to, reason, code);
  }

  close(): Promise<void> {
    return this.stopSession();
  }
}

/**
 * Connects a call in `room` to a customer's AI platform (docs/bridge.md). Publishes the
 * agent track at once, then streams the caller's audio and DTMF to the platform and plays its
 * responses. Returns without waiting for the platform: until it answers, the caller hears
 * silence. Throws BridgeConfigError (before touching the room) for bad options.
 */
export async function runBridgeSession(options: BridgeSessionOptions): Promise<BridgeSession> {
  const { room, caller } = options;
  const logger = options.logger.child({ component: 'bridge-session' });
  const bridge = new AiPlatformBridge(options.bridge, options.call, options.logger);
  if (!room.localParticipant) throw new Error('runBridgeSession needs a connected room');
  const agentTrack = await publishAudioSource(
    room,
    AGENT_TRACK_NAME,
    AGENT_SAMPLE_RATE,
    SOURCE_QUEUE_MS,
  );
  const source = agentTrack.source;
  const playout = new Playout(source, bridge.maxPlayoutSeconds, (frame) =>
    options.capture?.agentFrame(frame),
  );
  const keys = new KeyFilter(options.dtmfMode ?? 'rfc2833');
  const sendKey = (digit: string, source: KeySource) => {
    if (!session.muted && keys.accept(digit, source)) bridge.sendDtmf(digit);
  };
  // On the 16 kHz frames sent to the platform: no second stream of the caller.
  const tones =
    (options.dtmfMode ?? 'rfc2833') === 'rfc2833'
      ? undefined
      : new InbandKeys((digit) => sendKey(digit, 'inband'));
  const callerAudio = new CallerAudio(
    room,
    caller,
    (frame) => {
      if (session.muted) return;
      tones?.push(frame, PLATFORM_SAMPLE_RATE);
      bridge.sendAudio(frame);
      options.capture?.callerFrame(frame);
    },
    logger,
  );
  const session: SessionHandle = new SessionHandle(
    bridge,
    () => ({
      ...bridge.stats(),
      playedFrames: playout.playedFrames,
      playoutDropped: playout.droppedFrames,
    }),
    () => stop('closed'),
    () => {
      playout.clear();
      tones?.reset();
    },
  );

  bridge.on('response', (response) => {
    if (response.text !== undefined) session.emit('agentText', response.text);
    if (response.audio && !session.muted) playout.enqueue(response.audio, response.sampleRate);
  });
  bridge.on('clear', () => playout.clear());
  bridge.on('hangup', (info) => session.emit('hangup', info));
  bridge.on('transfer', (info) => session.emit('transfer', info));
  bridge.on('connected', (info) => session.emit('connected', info));
  bridge.on('disconnected', (info) => session.emit('disconnected', info));
  bridge.on('failed', (info) => session.emit('failed', info));

  const onDtmf = (_code: number, digit: string, participant: RemoteParticipant) => {
    if (participant.identity === caller.identity) sendKey(digit, 'rfc2833');
  };
  const onParticipantLeft = (participant: RemoteParticipant) => {
    if (participant.identity === caller.identity) void stop('caller-left');
  };
  const onRoomDisconnected = () => void stop('room-disconnected');
  room.on(RoomEvent.DtmfReceived, onDtmf);
  room.on(RoomEvent.ParticipantDisconnected, onParticipantLeft);
  room.on(RoomEvent.Disconnected, onRoomDisconnected);

  let stopping: Promise<void> | undefined;
  const stop = (reason: 'closed' | 'caller-left' | 'room-disconnected') => {
    stopping ??= (async () => {
      room.off(RoomEvent.DtmfReceived, onDtmf);
      room.off(RoomEvent.ParticipantDisconnected, onParticipantLeft);
      room.off(RoomEvent.Disconnected, onRoomDisconnected);
      await bridge.close();
      await callerAudio.stop();
      await playout.stop();
      await agentTrack.close().catch((error: unknown) => {
        logger.warn({ err: error }, 'could not unpublish the agent track');
      });
      logger.info({ reason, stats: session.stats() }, 'bridge session ended');
      session.emit('closed', { reason });
    })();
    return stopping;
  };

  callerAudio.start();
  bridge.start();
  return session;
}
