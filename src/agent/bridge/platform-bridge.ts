import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from '../../kernel/logger.js';
import { createAuthFrame } from './auth.js';
import { reconnectDelayMs } from './backoff.js';
import {
  audioDataFrame,
  dtmfFrame,
  machineDetectionFrame,
  parsePlatformFrame,
  transferFailedFrame,
  type PlatformFrame,
  type TransferFailure,
  type TransferRequest,
} from './messages.js';
import {
  parseCallInfo,
  resolveBridgeOptions,
  type BridgeCallInfo,
  type BridgeOptions,
  type ResolvedBridgeOptions,
} from './options.js';
import { pcmFromBytes, pcmToBase64 } from './pcm.js';

/** Audio sent to the platform: 16 kHz mono, 20 ms frames. */
export const PLATFORM_SAMPLE_RATE = 16_000;
export const PLATFORM_FRAME_SAMPLES = 320;
/** A close code the platform sends to refuse the call (or HTTP 401/403 on the upgrade): no reconnect follows. */
export const CLOSE_CODE_REFUSED = 1008;
// One audio_data frame on the wire (JSON around 856 base64 characters), for the buffer limit.
const AUDIO_FRAME_WIRE_BYTES = 1_000;

export type BridgeState = 'idle' | 'connecting' | 'open' | 'waiting' | 'failed' | 'closed';

/** Machine detection's verdict on an outbound call, as the platform is told it. */
export interface MachineVerdict {
  answeredBy: 'human' | 'machine' | 'unknown';
  /** What the gateway does about a machine (the profile's on_machine). */
  onMachine?: 'leave_message' | 'hang_up';
}

export interface PlatformResponse {
  text?: string;
  /** Mono 16-bit PCM at `sampleRate`. */
  audio?: Int16Array;
  sampleRate: number;
}

export interface BridgeStats {
  /** audio_data frames sent; also the next frame's `sequence`. */
  framesSent: number;
  /** Caller frames not sent: socket down, or its send buffer over `maxBufferedMs`. */
  framesDropped: number;
  /** Successful connections after the first. */
  reconnects: number;
  connectAttempts: number;
  dtmfSent: number;
  dtmfDropped: number;
  responses: number;
  malformedFrames: number;
}

export interface BridgeEvents {
  connected: [info: { reconnect: boolean }];
  disconnected: [info: { code: number; willReconnect: boolean; delayMs?: number }];
  response: [response: PlatformResponse];
  hangup: [info: { reason?: string }];
  transfer: [info: TransferRequest];
  clear: [];
  /** Terminal: the platform refused the call or every reconnect attempt failed. */
  failed: [info: { reason: 'refused' | 'gave-up' }];
}

/**
 * Client of the customer's AI platform WebSocket (docs/bridge.md): auth on every connection,
 * audio_data and dtmf out, response/hangup/transfer/clear in, reconnects with backoff.
 */
export class AiPlatformBridge extends EventEmitter<BridgeEvents> {
  // A #private field: secrets stay out of anything that serializes the bridge (loggers too).
  readonly #options: ResolvedBridgeOptions;
  readonly call: BridgeCallInfo;
  private readonly logger: Logger;
  private socket: WebSocket | undefined;
  private stateValue: BridgeState = 'idle';
  private attempts = 0;
  private openedAt = 0;
  private everConnected = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  /** Sent after auth on every connection from the moment it is known. */
  private verdict: MachineVerdict | undefined;
  private readonly counters: BridgeStats = {
    framesSent: 0,
    framesDropped: 0,
    reconnects: 0,
    connectAttempts: 0,
    dtmfSent: 0,
    dtmfDropped: 0,
    responses: 0,
    malformedFrames: 0,
  };

  /** Throws BridgeConfigError naming the bad field. Does not connect: call `start()`. */
  constructor(options: BridgeOptions, call: BridgeCallInfo, logger: Logger) {
    super();
    this.#options = resolveBridgeOptions(options);
    this.call = parseCallInfo(call);
    this.logger = logger.child({ component: 'ai-bridge', call_id: this.call.callId });
  }

  /** Longest platform audio the session queues for playout. */
  get maxPlayoutSeconds(): number {
    return this.#options.maxPlayoutSeconds;
  }

  get state(): BridgeState {
    return this.stateValue;
  }

  stats(): BridgeStats {
    return { ...this.counters };
  }

  start(): void {
    if (this.stateValue !== 'idle') return;
    this.connectOrFail();
  }

  /** Sends one 20 ms frame of 16 kHz PCM, or drops and counts it when it cannot go now. */
  sendAudio(frame: Int16Array, timestamp = Date.now() / 1000): boolean {
    if (frame.length !== PLATFORM_FRAME_SAMPLES) {
      throw new RangeError(`audio frame must be ${PLATFORM_FRAME_SAMPLES} samples`);
    }
    const socket = this.socket;
    const limit = (this.#options.maxBufferedMs / 20) * AUDIO_FRAME_WIRE_BYTES;
    if (this.stateValue !== 'open' || !socket || socket.bufferedAmount > limit) {
      this.counters.framesDropped += 1;
      return false;
    }
    const sequence = this.counters.framesSent;
    socket.send(audioDataFrame(this.call.callId, pcmToBase64(frame), timestamp, sequence));
    this.counters.framesSent += 1;
    return true;
  }

  /** Digits pressed while the socket is down are dropped: late DTMF would be misread. */
  sendDtmf(digit: string): boolean {
    if (this.stateValue !== 'open' || !this.socket) {
      this.counters.dtmfDropped += 1;
      return false;
    }
    this.socket.send(dtmfFrame(this.call.callId, digit, this.#options.dtmfDurationMs));
    this.counters.dtmfSent += 1;
    return true;
  }

  /**
   * Tells the platform who answered; a platform that connects (or reconnects) later gets it
   * right after its auth frame.
   */
  sendMachineDetection(verdict: MachineVerdict): void {
    this.verdict = verdict;
    if (this.stateValue === 'open' && this.socket) this.socket.send(this.verdictFrame(verdict));
  }

  /** Tells the platform its transfer did not happen; false when the socket is down. */
  sendTransferFailed(to: string, reason: TransferFailure, code?: string): boolean {
    if (this.stateValue !== 'open' || !this.socket) return false;
    this.socket.send(transferFailedFrame(this.call.callId, to, reason, code));
    return true;
  }

  private verdictFrame(verdict: MachineVerdict): string {
    return machineDetectionFrame(this.call.callId, verdict.answeredBy, verdict.onMachine);
  }

  async close(): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'closed';
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => socket.terminate(), 1_000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1000, 'call ended');
    });
  }

  private connectOrFail(): void {
    this.connect().catch((error: unknown) => {
      this.logger.error({ err: error }, 'could not start an AI platform connection');
      this.fail('gave-up', 1006);
    });
  }

  private async connect(): Promise<void> {
    this.stateValue = 'connecting';
    this.counters.connectAttempts += 1;
    const auth = await createAuthFrame({
      call: this.call,
      jwtSecret: this.#options.jwtSecret,
      hmacSecret: this.#options.hmacSecret,
      ttlSeconds: this.#options.tokenTtlSeconds,
    });
    if (this.stateValue !== 'connecting') return; // closed meanwhile
    const socket = new WebSocket(this.#options.url, {
      handshakeTimeout: this.#options.connectTimeoutMs,
      maxPayload: this.#options.maxFrameBytes,
      followRedirects: false,
      perMessageDeflate: false,
    });
    this.socket = socket;
    let ended = false;
    let refused = false;
    socket.on('open', () => {
      if (this.socket !== socket) return;
      socket.send(JSON.stringify(auth));
      if (this.verdict) socket.send(this.verdictFrame(this.verdict));
      this.stateValue = 'open';
      this.openedAt = Date.now();
      const reconnect = this.everConnected;
      if (reconnect) this.counters.reconnects += 1;
      this.everConnected = true;
      this.startPing(socket);
      this.logger.info({ reconnect }, 'AI platform connected');
      this.emit('connected', { reconnect });
    });
    socket.on('message', (data, isBinary) => {
      if (this.socket === socket) this.onMessage(data as Buffer, isBinary);
    });
    socket.on('pong', () => {
      this.awaitingPong = false;
    });
    socket.on('error', (error) => {
      // The message of a ws error names the URL at most, never the token.
      this.logger.warn({ err: { message: error.message } }, 'AI platform socket error');
      // The platform answered the upgrade with 401 or 403: it refuses this call.
      if (/^Unexpected server response: 40[13]$/.test(error.message)) refused = true;
      if (!ended && socket.readyState === WebSocket.CLOSED) {
        ended = true;
        this.onClose(socket, refused ? CLOSE_CODE_REFUSED : 1006);
      }
    });
    socket.on('close', (code) => {
      if (ended) return;
      ended = true;
      this.onClose(socket, refused ? CLOSE_CODE_REFUSED : code);
    });
  }

  private startPing(socket: WebSocket): void {
    clearInterval(this.pingTimer);
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.logger.warn('AI platform did not answer ping');
        socket.terminate();
        return;
      }
      this.awaitingPong = true;
      socket.ping();
    }, this.#options.pingIntervalMs);
  }

  private onClose(socket: WebSocket, code: number): void {
    if (this.socket !== socket || this.stateValue === 'closed') return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    const wasStable =
      this.stateValue === 'open' &&
      Date.now() - this.openedAt >= this.#options.reconnect.stableAfterMs;
    if (wasStable) this.attempts = 0;
    if (code === CLOSE_CODE_REFUSED) {
      this.fail('refused', code);
      return;
    }
    this.attempts += 1;
    if (this.attempts > this.#options.reconnect.maxAttempts) {
      this.fail('gave-up', code);
      return;
    }
    const delayMs = reconnectDelayMs(this.attempts, this.#options.reconnect);
    this.stateValue = 'waiting';
    this.logger.warn({ code, attempt: this.attempts, delayMs }, 'AI platform disconnected');
    this.emit('disconnected', { code, willReconnect: true, delayMs });
    this.retryTimer = setTimeout(() => this.connectOrFail(), delayMs);
  }

  private fail(reason: 'refused' | 'gave-up', code: number): void {
    this.stateValue = 'failed';
    this.logger.error({ code, reason, attempts: this.attempts }, 'AI platform bridge failed');
    this.emit('disconnected', { code, willReconnect: false });
    this.emit('failed', { reason });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const parsed = parsePlatformFrame(data, isBinary);
    if (!parsed.ok) {
      this.counters.malformedFrames += 1;
      this.logger.warn(
        { reason: parsed.reason, fields: parsed.fields },
        'ignored malformed frame from AI platform',
      );
      return;
    }
    this.dispatch(parsed.frame);
  }

  private dispatch(frame: PlatformFrame): void {
    switch (frame.type) {
      case 'response': {
        this.counters.responses += 1;
        const { text, audio, sample_rate: sampleRate = PLATFORM_SAMPLE_RATE } = frame.data;
        const samples = audio ? pcmFromBytes(Buffer.from(audio, 'base64')) : undefined;
        this.emit('response', {
          ...(text !== undefined ? { text } : {}),
          ...(samples && samples.length > 0 ? { audio: samples } : {}),
          sampleRate,
        });
        return;
      }
      case 'hangup':
        this.emit('hangup', frame.data?.reason !== undefined ? { reason: frame.data.reason } : {});
        return;
      case 'transfer':
        this.emit('transfer', {
          to: frame.data.to,
          mode: frame.data.mode ?? 'cold',
          ...(frame.data.summary !== undefined && { summary: frame.data.summary }),
        });
        return;
      case 'clear':
        this.emit('clear');
        return;
    }
  }
}
