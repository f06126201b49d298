import { EventEmitter } from 'node:events';
import { RoomEvent, type AudioFrame, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';
import { publishAudioSource } from '../audio-track.js';
import { CallerAudio } from './caller-audio.js';
import type { BridgeCallInfo, BridgeOptions } from './options.js';
import { AiPlatformBridge, type BridgeEvents, type BridgeStats } from './platform-bridge.js';
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
  transfer: [info: { to: string }];
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
  /** Stops audio both ways, closes the platform socket, unpublishes the agent track. */
  close(): Promise<void>;
}

class SessionHandle extends EventEmitter<BridgeSessionEvents> implements BridgeSession {
  held = false;

  constructor(
    readonly bridge: AiPlatformBridge,
    private readonly statsOf: () => BridgeSessionStats,
    private readonly stopSession: () => Promise<void>,
  ) {
    super();
  }

  stats(): BridgeSessionStats {
    return this.statsOf();
  }

  setHeld(held: boolean): void {
    this.held = held;
    if (held) this.emit('held');
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
  const callerAudio = new CallerAudio(
    room,
    caller,
    (frame) => {
      if (session.held) return;
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
  );

  bridge.on('response', (response) => {
    if (response.text !== undefined) session.emit('agentText', response.text);
    if (response.audio && !session.held) playout.enqueue(response.audio, response.sampleRate);
  });
  session.on('held', () => playout.clear());
  bridge.on('clear', () => playout.clear());
  bridge.on('hangup', (info) => session.emit('hangup', info));
  bridge.on('transfer', (info) => session.emit('transfer', info));
  bridge.on('connected', (info) => session.emit('connected', info));
  bridge.on('disconnected', (info) => session.emit('disconnected', info));
  bridge.on('failed', (info) => session.emit('failed', info));

  const onDtmf = (_code: number, digit: string, participant: RemoteParticipant) => {
    if (participant.identity === caller.identity && !session.held) bridge.sendDtmf(digit);
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
