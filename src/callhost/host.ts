import { runWithJobContextAsync } from '@livekit/agents';
import type { Job } from '@livekit/protocol';
import { ParticipantKind, Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';
import type { CallDeps } from '../agent/call-session.js';
import { runCall } from '../agent/call-session.js';
import { speakDirectly } from '../agent/direct-speech.js';
import { EspeakTTS } from '../agent/espeak-tts.js';
import { callReporter } from '../agent/gateway-api.js';
import { attachDtmfCommands } from '../agent/dtmf-commands.js';
import { CallControl, watchVoiceSubscription } from '../agent/telephony.js';
import { routeRoomEvents } from './room-event-routing.js';
import { CallContext } from './call-context.js';
import { CallSetupTimeline } from './call-setup.js';
import {
  dropFailedRoomHandles,
  isolateRoomEvents,
  runInCall,
  type IsolatedCall,
} from './call-isolation.js';
import { WorkerConnection } from './worker-connection.js';

export interface CallHostOptions {
  agentName: string;
  /** Calls this host takes at once (CALL_HOST_CAPACITY). */
  capacity: number;
  deps: CallDeps;
  log: Logger;
}

interface ActiveCall extends IsolatedCall {
  ctx?: CallContext;
  failing?: boolean;
}

/**
 * One process, many calls: registers with LiveKit as the agent worker `agentName`, takes
 * jobs while it has room (its load is its own calls over its capacity), and runs each call
 * with a Room of its own, isolated from the others (an error ends that call alone).
 */
export class CallHost {
  readonly #calls = new Map<string, ActiveCall>();
  readonly #worker: WorkerConnection;
  #draining = false;
  #idle: (() => void) | undefined;

  constructor(private readonly options: CallHostOptions) {
    const livekit = options.deps.livekit;
    this.#worker = new WorkerConnection({
      url: livekit.url,
      apiKey: livekit.apiKey,
      apiSecret: livekit.apiSecret,
      agentName: options.agentName,
      log: options.log,
      offer: (job) => this.#offer(job),
      load: () => ({ load: this.#calls.size / options.capacity, jobs: this.#calls.size }),
    });
    this.#worker.on('assignment', ({ job, url, token }) => void this.#run(job, url, token));
    this.#worker.on('termination', (jobId) => {
      const call = this.#calls.get(jobId);
      if (!call) return;
      if (call.ctx) call.ctx.shutdown('terminated');
      else this.#release(jobId);
    });
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  /** The rooms this host's calls are in, and the identity it joined each as. */
  calls(): { room: string; identity: string }[] {
    return [...this.#calls.values()]
      .filter((c) => c.ctx?.room.name)
      .map((c) => ({ room: c.ctx!.room.name!, identity: `agent-${c.jobId}` }));
  }

  get registered(): boolean {
    return this.#worker.registered;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** The LiveKit server's version once registered. */
  get livekitServerVersion(): string | undefined {
    return this.#worker.serverVersion;
  }

  start(): Promise<void> {
    return this.#worker.start();
  }

  /**
   * No new calls (LiveKit sees the host full and offers are declined); resolves 'idle' when
   * the last call ended, or 'deadline' after `maxMs` with calls still on.
   */
  async drain(maxMs: number): Promise<'idle' | 'deadline'> {
    this.#draining = true;
    this.#worker.drain();
    let timer: NodeJS.Timeout | undefined;
    const outcome =
      this.#calls.size === 0
        ? 'idle'
        : await Promise.race([
            new Promise<'idle'>((resolve) => (this.#idle = () => resolve('idle'))),
            new Promise<'deadline'>((resolve) => (timer = setTimeout(resolve, maxMs, 'deadline'))),
          ]);
    clearTimeout(timer);
    this.#worker.close();
    return outcome;
  }

  /** A job LiveKit offers: taken (and its place reserved) while the host is below capacity. */
  #offer(job: Job) {
    if (this.#draining || this.#calls.size >= this.options.capacity) return undefined;
    const call: ActiveCall = { jobId: job.id, fail: (error) => this.#fail(call, error) };
    this.#calls.set(job.id, call);
    return { identity: `agent-${job.id}`, name: this.options.agentName };
  }

  async #run(job: Job, url: string, token: string): Promise<void> {
    const call = this.#calls.get(job.id);
    if (!call) return;
    const log = this.options.log.child({ job: job.id, room: job.room?.name });
    const room = new Room();
    isolateRoomEvents(room, call);
    // Before joining: the API may send keys the moment it sees the agent in the room.
    attachDtmfCommands(room, log);
    watchVoiceSubscription(room);
    const setup = new CallSetupTimeline(log);
    setup.watch(room);
    try {
      await room.connect(url, token, { autoSubscribe: true, dynacast: false });
      setup.mark('connected');
    } catch (error) {
      log.error({ err: error }, 'could not join the call room');
      dropFailedRoomHandles(room, (e) =>
        log.error({ err: e }, 'could not drop the failed room’s native handles'),
      );
      this.#worker.jobEnded(job.id, 'room connect failed');
      this.#release(job.id);
      return;
    }
    const unrouteRoomEvents = routeRoomEvents(room);
    if (!unrouteRoomEvents) log.warn('rtc-node changed: every room sees every call’s events');
    const ctx = new CallContext(room, job);
    call.ctx = ctx;
    this.#worker.jobRunning(job.id);
    log.info({ activeCalls: this.#calls.size }, 'call started');
    runInCall(call, () =>
      runWithJobContextAsync(ctx.agentsJobContext(), () => runCall(ctx, this.options.deps)),
    ).catch((error: unknown) => call.fail(error));
    const reason = await ctx.ended;
    await runInCall(call, () =>
      ctx.runShutdownCallbacks((error) => this.#callbackFailed(log, error)),
    );
    await room.disconnect().catch(() => undefined);
    unrouteRoomEvents?.();
    this.#worker.jobEnded(job.id);
    this.#release(job.id);
    log.info({ reason, activeCalls: this.#calls.size }, 'call ended');
  }

  #callbackFailed(log: Logger, error: unknown): void {
    log.error({ err: error }, 'a call shutdown step failed');
  }

  #release(jobId: string): void {
    this.#calls.delete(jobId);
    if (this.#calls.size === 0) this.#idle?.();
  }

  /** An error nobody caught in one call: that call apologises and ends; the others go on. */
  #fail(call: ActiveCall, error: unknown): void {
    const ctx = call.ctx;
    this.options.log.error({ err: error, job: call.jobId }, 'call failed with an uncaught error');
    if (!ctx || call.failing) return;
    call.failing = true;
    const handler = ctx.onFailure ?? (() => this.#apologiseBare(ctx));
    void runInCall(call, () =>
      handler(error)
        .catch((e: unknown) => this.options.log.error({ err: e }, 'call failure handling failed'))
        .finally(() => ctx.shutdown('agent_error')),
    );
  }

  /** A call that failed before it could apologise itself: the offline profile's apology. */
  async #apologiseBare(ctx: CallContext): Promise<void> {
    const { deps } = this.options;
    const caller = [...ctx.room.remoteParticipants.values()].find(
      (p) => p.kind !== ParticipantKind.AGENT,
    );
    const roomName = ctx.room.name;
    if (!caller || !roomName) return;
    const apology = deps.offlineProfile.apology;
    await speakDirectly(
      ctx.room,
      new EspeakTTS({ language: deps.offlineProfile.language }),
      apology,
    );
    await callReporter(
      deps.api,
      { roomName, callerIdentity: caller.identity, profileId: null },
      () => undefined,
    )({
      transcript: [{ at: new Date().toISOString(), speaker: 'agent', text: apology }],
      ended: { at: new Date().toISOString(), reason: 'agent_error' },
    });
    await new CallControl(deps.livekit, deps.api).hangup(roomName).catch(() => undefined);
  }
}
