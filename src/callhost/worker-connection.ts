import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  JobStatus,
  JobType,
  ParticipantPermission,
  ServerMessage,
  WorkerMessage,
  WorkerStatus,
  type AvailabilityRequest,
  type Job,
  type JobAssignment,
} from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import WebSocket from 'ws';
import { jitteredExponential } from '../kernel/backoff.js';
import type { Logger } from '../kernel/logger.js';

type OutgoingMessage = NonNullable<ConstructorParameters<typeof WorkerMessage>[0]>['message'];

/** How often the host tells LiveKit its load, and pings (LiveKit drops a silent worker). */
const STATUS_INTERVAL_MS = 2500;
const PING_INTERVAL_MS = 10_000;
/** After an accepted availability, LiveKit sends the assignment at once; this is generous. */
const ASSIGNMENT_TIMEOUT_MS = 10_000;

export interface WorkerConnectionOptions {
  /** livekit-server's URL (http(s) or ws(s)). */
  url: string;
  apiKey: string;
  apiSecret: string;
  agentName: string;
  log: Logger;
  /** Asked for each job LiveKit offers: the identity to join as, or undefined to decline. */
  offer(job: Job): { identity: string; name: string } | undefined;
  /** The host's load now, 0..1 (its own calls over its capacity). */
  load(): { load: number; jobs: number };
}

export interface WorkerConnectionEvents {
  registered: [workerId: string];
  assignment: [assignment: { job: Job; url: string; token: string }];
  termination: [jobId: string];
}

/**
 * LiveKit's agent worker protocol, driven directly (not @livekit/agents' AgentServer, which
 * runs each job in a process of its own): one WebSocket to `<livekit>/agent`, protobuf
 * WorkerMessage / ServerMessage. Registers as a room agent under `agentName`, answers job
 * offers by `offer()`, reports its load, and reconnects with backoff when the socket drops.
 */
export class WorkerConnection extends EventEmitter<WorkerConnectionEvents> {
  #socket: WebSocket | undefined;
  #closed = false;
  #draining = false;
  #workerId: string | undefined;
  #serverVersion: string | undefined;
  /** Jobs accepted whose assignment has not come yet. */
  readonly #pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: WorkerConnectionOptions) {
    super();
  }

  /** The LiveKit server's version, as its register answer gave it. */
  get serverVersion(): string | undefined {
    return this.#serverVersion;
  }

  get registered(): boolean {
    return this.#workerId !== undefined;
  }

  /** Connects and stays connected until close(); resolves once first registered. */
  async start(): Promise<void> {
    const first = new Promise<void>((resolve) => this.once('registered', () => resolve()));
    void this.#loop();
    await first;
  }

  /** No new jobs from now on: LiveKit sees the host full. */
  drain(): void {
    this.#draining = true;
    this.#sendStatus();
  }

  /** Tells LiveKit how a job went (LiveKit closes the dispatch with it). */
  jobEnded(jobId: string, error?: string): void {
    this.#send({
      case: 'updateJob',
      value: {
        jobId,
        status: error ? JobStatus.JS_FAILED : JobStatus.JS_SUCCESS,
        error: error ?? '',
      },
    });
  }

  jobRunning(jobId: string): void {
    this.#send({ case: 'updateJob', value: { jobId, status: JobStatus.JS_RUNNING, error: '' } });
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#socket?.close();
  }

  async #loop(): Promise<void> {
    // Bounded by close(): each round waits for the socket to end, then backs off.
    for (let attempt = 1; !this.#closed; attempt++) {
      const connectedAt = Date.now();
      try {
        await this.#connectOnce();
      } catch (error) {
        this.options.log.warn({ err: error, attempt }, 'worker connection to LiveKit failed');
      }
      this.#workerId = undefined;
      if (this.#closed) return;
      // A connection that lived a while starts the backoff again.
      if (Date.now() - connectedAt > 30_000) attempt = 1;
      await sleep(jitteredExponential(attempt, 500, 10_000));
    }
  }

  async #connectOnce(): Promise<void> {
    const token = new AccessToken(this.options.apiKey, this.options.apiSecret);
    token.addGrant({ agent: true });
    const url = new URL('agent', this.options.url.replace(/^http/, 'ws').replace(/\/?$/, '/'));
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${await token.toJwt()}` },
    });
    this.#socket = socket;
    const timers: NodeJS.Timeout[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
        socket.once('close', (code) => reject(new Error(`worker socket closed (${code})`)));
      });
      this.#send({
        case: 'register',
        value: {
          type: JobType.JT_ROOM,
          agentName: this.options.agentName,
          version: 'voice-gateway-callhost',
          allowedPermissions: new ParticipantPermission({
            canPublish: true,
            canSubscribe: true,
            canPublishData: true,
            canUpdateMetadata: true,
            agent: true,
          }),
        },
      });
      timers.push(setInterval(() => this.#sendStatus(), STATUS_INTERVAL_MS));
      timers.push(
        setInterval(
          () => this.#send({ case: 'ping', value: { timestamp: BigInt(Date.now()) } }),
          PING_INTERVAL_MS,
        ),
      );
      await new Promise<void>((resolve) => {
        socket.on('message', (data: Buffer) => this.#onMessage(data));
        socket.on('error', (error) => this.options.log.warn({ err: error }, 'worker socket error'));
        socket.once('close', () => resolve());
      });
    } finally {
      for (const timer of timers) clearInterval(timer);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      if (socket.readyState === WebSocket.OPEN) socket.close();
    }
  }

  #send(message: OutgoingMessage): void {
    const socket = this.#socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    socket.send(new WorkerMessage({ message }).toBinary());
  }

  #sendStatus(): void {
    const { load, jobs } = this.options.load();
    const full = this.#draining || load >= 1;
    this.#send({
      case: 'updateWorker',
      value: {
        load: this.#draining ? 1 : load,
        jobCount: jobs,
        status: full ? WorkerStatus.WS_FULL : WorkerStatus.WS_AVAILABLE,
      },
    });
  }

  #onMessage(data: Buffer): void {
    let message: ServerMessage;
    try {
      message = ServerMessage.fromBinary(new Uint8Array(data));
    } catch (error) {
      this.options.log.warn({ err: error }, 'unreadable message from LiveKit ignored');
      return;
    }
    const m = message.message;
    switch (m.case) {
      case 'register':
        this.#workerId = m.value.workerId;
        this.#serverVersion = m.value.serverInfo?.version || undefined;
        this.options.log.info(
          { workerId: m.value.workerId, agentName: this.options.agentName },
          'registered worker',
        );
        this.#sendStatus();
        this.emit('registered', m.value.workerId);
        return;
      case 'availability':
        this.#onAvailability(m.value);
        return;
      case 'assignment':
        this.#onAssignment(m.value);
        return;
      case 'termination':
        this.emit('termination', m.value.jobId);
        return;
      default:
        return;
    }
  }

  #onAvailability(request: AvailabilityRequest): void {
    const job = request.job;
    if (!job) return;
    const accepted = this.#draining ? undefined : this.options.offer(job);
    if (!accepted) {
      this.#send({ case: 'availability', value: { jobId: job.id, available: false } });
      return;
    }
    this.#pending.set(
      job.id,
      setTimeout(() => {
        this.#pending.delete(job.id);
        this.options.log.warn({ jobId: job.id }, 'job assignment never came');
        this.emit('termination', job.id);
      }, ASSIGNMENT_TIMEOUT_MS),
    );
    this.#send({
      case: 'availability',
      value: {
        jobId: job.id,
        available: true,
        participantIdentity: accepted.identity,
        participantName: accepted.name,
        participantAttributes: { 'lk.agent.name': this.options.agentName },
      },
    });
  }

  #onAssignment(assignment: JobAssignment): void {
    const job = assignment.job;
    if (!job) return;
    const timer = this.#pending.get(job.id);
    if (!timer) {
      this.options.log.warn({ jobId: job.id }, 'assignment for a job this host did not accept');
      return;
    }
    clearTimeout(timer);
    this.#pending.delete(job.id);
    this.emit('assignment', {
      job,
      url: assignment.url || this.options.url,
      token: assignment.token,
    });
  }
}
