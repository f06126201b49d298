import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import type { Database, SecretBox } from '../db/index.js';
import { syncAdmission } from './admission.js';
import { syncSmsDestinations } from './sms-destinations.js';
import { advisoryLockOwnership, soleOwnership } from './ownership.js';
import { EdgeRpc } from './rpc.js';
import { RegistrationSupervisor } from './supervisor.js';

/** Work another area does with the edge at every poll (e.g. the blocklist keeping its table). */
export interface EdgePollTask {
  /** Names the task in the log when it fails. */
  name: string;
  run(rpc: EdgeRpc): Promise<void>;
}

export interface EdgeSupervisor {
  rpc: EdgeRpc;
  /** Runs one check now (and waits for it). */
  pollNow(): Promise<void>;
  /**
   * Pushes the trunks' admission tables now (after a trunk or number changed); calls made
   * while one push waits share the next one.
   */
  syncAdmission(): Promise<void>;
  stop(): Promise<void>;
}

/** The edge relays the gateway's own REGISTERs from its JSON-RPC address, over UDP. */
function relayAddress(rpcUrl: string, token: string) {
  const url = new URL(rpcUrl);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80), token };
}

/**
 * Polls the edge every EDGE_POLL_SECONDS (registrations, then each task). With PostgreSQL several
 * gateway instances may run it: each trunk is registered by the one instance holding its
 * advisory lock.
 */
export function startEdgeSupervisor(
  config: GatewayConfig,
  database: Database,
  box: SecretBox,
  logger: Logger,
  kickWebhooks?: () => void,
  tasks: EdgePollTask[] = [],
): EdgeSupervisor {
  const rpc = new EdgeRpc(config.edge.rpcUrl, config.edge.rpcSecret);
  const supervisor = new RegistrationSupervisor({
    db: database.db,
    box,
    rpc,
    logger,
    ownership:
      database.kind === 'postgres' && !config.edge.soleInstance
        ? advisoryLockOwnership(database.url)
        : soleOwnership(),
    instanceId: config.edge.instanceId,
    contactAddr: config.edge.contactAddress,
    relay: relayAddress(config.edge.rpcUrl, config.edge.rpcSecret),
    retryBaseSeconds: config.edge.retryBaseSeconds,
    retryMaxSeconds: config.edge.retryMaxSeconds,
    kickWebhooks,
  });
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const admission = () =>
    syncAdmission(database.db, rpc)
      .then(() => syncSmsDestinations(database.db, rpc))
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'sip edge admission tables not pushed');
      });
  let queuedAdmission: Promise<void> | undefined;
  const syncAdmissionSoon = () => {
    if (!queuedAdmission) {
      queuedAdmission = running.then(async () => {
        queuedAdmission = undefined;
        await admission();
      });
      running = queuedAdmission;
    }
    return queuedAdmission;
  };
  const pollNow = () => {
    running = running.then(async () => {
      // First: an edge that restarted admits no call until it has these.
      await admission();
      await supervisor.poll().catch((error: unknown) => {
        logger.error({ err: error }, 'sip edge registration check failed');
      });
      for (const task of tasks) {
        await task.run(rpc).catch((error: unknown) => {
          logger.warn({ err: error, task: task.name }, 'sip edge poll task failed');
        });
      }
    });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void pollNow().then(schedule);
    }, config.edge.pollSeconds * 1000);
  };
  void pollNow().then(schedule);
  return {
    rpc,
    pollNow,
    syncAdmission: syncAdmissionSoon,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await supervisor.release();
    },
  };
}
