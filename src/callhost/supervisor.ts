import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cappedExponential } from '../kernel/backoff.js';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { Logger } from '../kernel/logger.js';
import { aggregateHostMetrics, isMetricsReply } from './host-metrics.js';

/** What a host tells the supervisor over IPC every few seconds. */
interface HostState {
  registered: boolean;
  activeCalls: number;
  calls?: { room: string; identity: string }[];
}

interface HostSlot {
  index: number;
  child: ChildProcess | undefined;
  state: HostState;
  restarts: number;
}

/** The host module beside this one: main.ts under tsx, main.js compiled. */
function hostEntry(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./main${ext}`, import.meta.url));
}

/**
 * Runs `hosts` call host processes (default one per core) and restarts one that dies, with
 * backoff (its calls were resumed on the other hosts meanwhile). GET / on the health port is
 * 200 once every host is registered with LiveKit; GET /hosts lists them; GET /metrics sums the
 * hosts' Prometheus metrics. A stop signal drains
 * every host: no new calls, each exits when its last call ended.
 */
export function runSupervisor(options: {
  hosts: number | undefined;
  httpPort: number;
  /** AGENT_HTTP_HOST: 127.0.0.1, or the pod's address for probes and Prometheus. */
  httpHost: string;
  /** CALL_HOST_CAPACITY of each host, for the metrics. */
  capacity: number;
  livekit: { url: string; apiKey: string; apiSecret: string };
  log: Logger;
}): void {
  const rooms = new RoomServiceClient(
    options.livekit.url.replace(/^ws/, 'http'),
    options.livekit.apiKey,
    options.livekit.apiSecret,
  );
  const count = options.hosts ?? os.availableParallelism();
  const { log } = options;
  const slots: HostSlot[] = Array.from({ length: count }, (_, index) => ({
    index,
    child: undefined,
    state: { registered: false, activeCalls: 0 },
    restarts: 0,
  }));
  let stopping = false;
  const removals = new Set<Promise<unknown>>();

  const start = (slot: HostSlot) => {
    const child = fork(hostEntry(), [], { stdio: 'inherit' });
    slot.child = child;
    slot.state = { registered: false, activeCalls: 0 };
    child.on('message', (message) => {
      if (isMetricsReply(message)) return;
      slot.state = message as HostState;
      if (slot.state.registered) slot.restarts = 0;
    });
    child.once('exit', (code, signal) => {
      slot.child = undefined;
      const lost = slot.state.calls ?? [];
      slot.state = { registered: false, activeCalls: 0 };
      // LiveKit would wait ~20 s for the dead agent to reconnect; removing it now lets the
      // API send an agent that goes on with the call (AgentRecovery) at once.
      const removed = Promise.all(
        lost.map((call) =>
          rooms
            .removeParticipant(call.room, call.identity)
            .catch((error: unknown) => log.warn({ err: error }, 'lost agent could not be removed')),
        ),
      );
      removals.add(removed);
      void removed.finally(() => removals.delete(removed));
      if (stopping) {
        // A host that drained past CALL_HOST_DRAIN_SECONDS left calls on: free their rooms, so
        // the API's agent recovery sends them agents on hosts that are not stopping (bounded).
        if (slots.every((s) => !s.child)) {
          void Promise.race([Promise.all(removals), sleep(5000)]).finally(() => process.exit(0));
        }
        return;
      }
      if (lost.length)
        log.error({ host: slot.index, calls: lost.length }, 'call host died with calls');
      slot.restarts++;
      const delay = cappedExponential(slot.restarts, 500, 30_000);
      log.error({ host: slot.index, code, signal, delayMs: delay }, 'call host exited; restarting');
      setTimeout(() => !stopping && start(slot), delay);
    });
  };
  for (const slot of slots) start(slot);

  const server: Server = createServer((req, res) => {
    // Draining: not ready (a load balancer or Kubernetes takes it out), but still alive.
    const ready = !stopping && slots.every((s) => s.state.registered);
    if (req.url === '/hosts') {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Counts only: the rooms of the calls are named after callers' numbers.
      res.end(
        JSON.stringify(
          slots.map((s) => ({
            index: s.index,
            pid: s.child?.pid ?? null,
            registered: s.state.registered,
            activeCalls: s.state.activeCalls,
          })),
        ),
      );
      return;
    }
    if (req.url === '/metrics') {
      // The hosts' own metrics, summed, then the supervisor's totals (what an autoscaler reads).
      const live = slots.flatMap((s) => (s.child ? [s.child] : []));
      void aggregateHostMetrics(live)
        .then(async (registry) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end((await registry.metrics()) + hostMetrics(slots, options.capacity, stopping));
        })
        .catch((error: unknown) => {
          log.error({ err: error }, 'host metrics could not be gathered');
          res.writeHead(500).end();
        });
      return;
    }
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ready ? 'OK' : stopping ? 'draining' : 'starting');
  });
  server.listen(options.httpPort, options.httpHost);

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'call hosts draining');
    const alive = slots.filter((s) => s.child);
    if (alive.length === 0) process.exit(0);
    for (const slot of alive) slot.child!.kill('SIGTERM');
  };
  // on, not once: a second signal (a supervisor relaying Ctrl-C) must not cut the drain short.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  log.info({ hosts: count }, 'call host supervisor starting');
}

/**
 * Prometheus text for this machine's hosts: the active calls an autoscaler divides by the
 * capacity (the Helm chart's HPA scales on the ratio), and whether the hosts are draining.
 */
/** The series the call hosts' autoscaler scales on (Helm chart, prometheus-adapter values). */
export const ACTIVE_CALLS_METRIC = 'voice_gateway_callhost_active_calls';

function hostMetrics(slots: HostSlot[], capacity: number, draining: boolean): string {
  const calls = slots.reduce((n, s) => n + s.state.activeCalls, 0);
  const registered = slots.filter((s) => s.state.registered).length;
  return [
    `# HELP ${ACTIVE_CALLS_METRIC} Calls the call hosts of this supervisor hold now`,
    `# TYPE ${ACTIVE_CALLS_METRIC} gauge`,
    `${ACTIVE_CALLS_METRIC} ${calls}`,
    '# HELP voice_gateway_callhost_capacity Calls they take at most (hosts registered x CALL_HOST_CAPACITY)',
    '# TYPE voice_gateway_callhost_capacity gauge',
    `voice_gateway_callhost_capacity ${registered * capacity}`,
    '# HELP voice_gateway_callhost_draining 1 once a stop signal came: no new calls',
    '# TYPE voice_gateway_callhost_draining gauge',
    `voice_gateway_callhost_draining ${draining ? 1 : 0}`,
    '',
  ].join('\n');
}
