import os from 'node:os';
import path from 'node:path';
import type { JobContext } from '@livekit/agents';
import type { Job } from '@livekit/protocol';
import { ParticipantKind, RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';

/** How long the end of a call may take (reports, recording conversion) before it is cut. */
const SHUTDOWN_CALLBACK_TIMEOUT_MS = 150_000;

/**
 * What a call needs of the host: its room (connected with the assignment's token), the job
 * LiveKit dispatched, and a way to end. One per call; replaces @livekit/agents' JobContext.
 */
export class CallContext {
  readonly #callbacks: (() => Promise<void>)[] = [];
  readonly #ended: Promise<string>;
  #end!: (reason: string) => void;
  #shuttingDown = false;

  constructor(
    readonly room: Room,
    readonly job: Job,
  ) {
    this.sessionDirectory = path.join(os.tmpdir(), 'voice-gateway', `job-${job.id}`);
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    room.once(RoomEvent.Disconnected, () => this.shutdown('room_disconnected'));
  }

  get jobId(): string {
    return this.job.id;
  }

  get metadata(): string {
    return this.job.metadata;
  }

  /**
   * What the call does when it fails with an error nobody caught (the call's code sets it once
   * it can apologise): the host calls it, then ends the call.
   */
  onFailure: ((error: unknown) => Promise<void>) | undefined;

  /** Where the agents library's recorder writes this call's capture (set per call). */
  sessionDirectory: string;

  /** The first participant (or the one named) that is not an agent. */
  waitForParticipant(identity?: string): Promise<RemoteParticipant> {
    const wanted = (p: RemoteParticipant) =>
      (!identity || p.identity === identity) && p.kind !== ParticipantKind.AGENT;
    for (const p of this.room.remoteParticipants.values()) if (wanted(p)) return Promise.resolve(p);
    return new Promise((resolve, reject) => {
      const onJoin = (p: RemoteParticipant) => {
        if (!wanted(p)) return;
        this.room.off(RoomEvent.ParticipantConnected, onJoin);
        resolve(p);
      };
      this.room.on(RoomEvent.ParticipantConnected, onJoin);
      void this.#ended.then(() => {
        this.room.off(RoomEvent.ParticipantConnected, onJoin);
        reject(new Error('the call ended while waiting for a participant'));
      });
    });
  }

  /** Runs when the call ends, in the order added, each awaited. */
  addShutdownCallback(callback: () => Promise<void>): void {
    this.#callbacks.push(callback);
  }

  /** Ends the call: its callbacks run, then the host leaves the room. */
  shutdown(reason = ''): void {
    this.#end(reason);
  }

  /** Resolves with the reason once shutdown() was called or the room went away. */
  get ended(): Promise<string> {
    return this.#ended;
  }

  /** Runs the shutdown callbacks once (the host calls it when the call ends). */
  async runShutdownCallbacks(onError: (error: unknown) => void): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const callback of this.#callbacks) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        callback(),
        new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_CALLBACK_TIMEOUT_MS))),
      ])
        .catch(onError)
        .finally(() => clearTimeout(timer));
    }
  }

  /**
   * What the agents library's AgentSession reads of a job context while this call runs
   * (its recorder needs `sessionDirectory`; telemetry reads the job). Nothing else of a job
   * context is used: no inference executor, no cloud recording upload.
   */
  agentsJobContext(): JobContext {
    const shim = {
      room: this.room,
      job: this.job,
      // Read when the session starts, after the recording chose the folder.
      sessionDirectory: '',
      _primaryAgentSession: undefined,
      _redactionEnabled: false,
      initRecording: async () => {},
      simulationContext: () => undefined,
      _otelMetadata: () => ({}),
      addShutdownCallback: (cb: () => Promise<void>) => this.addShutdownCallback(cb),
      shutdown: (reason?: string) => this.shutdown(reason),
      deleteRoom: async () => {},
    };
    Object.defineProperty(shim, 'sessionDirectory', { get: () => this.sessionDirectory });
    return shim as unknown as JobContext;
  }
}
