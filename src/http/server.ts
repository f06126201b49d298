import { urlHost } from '../config/url-host.js';
import type { Server } from 'node:http';
import { loadConfig, createLogger, type GatewayConfig, type Logger } from '../config/index.js';
import {
  installationId,
  loadEncryptionKey,
  openDatabase,
  SecretBox,
  type Database,
} from '../db/index.js';
import { createLivekitClients } from '../livekit/index.js';
import { reconcile, startReconcileLoop } from '../trunks/index.js';
import { startCallsReconcileLoop } from '../calls/reconcile.js';
import { startDeliveryWorker } from '../webhooks/outbound/index.js';
import { loadCallWebhookSecret } from '../webhooks/outbound/call-secret.js';
import { blocklistEdgeTask } from '../blocklist/index.js';
import { startEdgeSupervisor, type EdgeSupervisor } from '../edge/index.js';
import { recordingDeps, startRecordingsSweep } from '../recordings/index.js';
import { createApp } from './app.js';
import { createRateLimits } from './rate-limit.js';

export interface RunningApi {
  url: string;
  port: number;
  database: Database;
  logger: Logger;
  /** The SIP edge supervisor, when EDGE_ENABLED. */
  edge?: EdgeSupervisor;
  close(): Promise<void>;
}

/**
 * Opens the database (migrating it), serves the API, runs a first reconcile with LiveKit and
 * then one every RECONCILE_INTERVAL_SECONDS.
 */
export async function startApi(
  config: GatewayConfig = loadConfig(),
  logger?: Logger,
): Promise<RunningApi> {
  const log = logger ?? createLogger({ level: config.log.level, redactPii: config.log.redactPii });
  const database = await openDatabase(config);
  const box = new SecretBox(loadEncryptionKey(config.encryptionKey, config.dataDir));
  const livekit = createLivekitClients(config);
  const webhookWorker = config.webhooksOut.redisUrl
    ? startDeliveryWorker(
        {
          db: database.db,
          box,
          logger: log,
          settings: config.webhooksOut,
          callSecret: config.webhooksOut.callSecret ?? loadCallWebhookSecret(config.dataDir),
        },
        config.webhooksOut.redisUrl,
        await installationId(database.db),
      )
    : undefined;
  if (!webhookWorker)
    log.warn('REDIS_URL is unset: customer webhooks are stored but not delivered');
  const edge = config.edge.enabled
    ? startEdgeSupervisor(config, database, box, log, webhookWorker?.kick, [
        blocklistEdgeTask({
          db: database.db,
          logger: log,
          defaultSipStatus: config.blocklist.sipStatus,
          kickWebhooks: webhookWorker?.kick,
        }),
      ])
    : undefined;
  const rateLimits = createRateLimits(config, log);
  const app = createApp({
    config,
    db: database.db,
    livekit,
    box,
    logger: log,
    kickWebhooks: webhookWorker?.kick,
    edgeRpc: edge?.rpc,
    rateLimits,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.api.port, config.api.host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.port;
  const trunkDeps = {
    db: database.db,
    sip: livekit.sip,
    box,
    logger: log,
    sipPublic: config.sipPublic,
    edgeSourceAddress: config.edge.enabled ? config.edge.sourceAddress : undefined,
  };
  // Awaited by close(): the pool must outlive the startup reconcile's transaction.
  const startupReconcile = reconcile(trunkDeps, config.reconcile.mode)
    .then((report) =>
      log.info(
        { drift: report.drift.length, livekit_reachable: report.livekit_reachable },
        'startup reconcile finished',
      ),
    )
    .catch((error: unknown) => log.error({ err: error }, 'startup reconcile failed'));
  const stopCallsLoop = startCallsReconcileLoop(
    { db: database.db, rooms: livekit.rooms, logger: log },
    config.calls.reconcileIntervalSeconds,
  );
  const stopLoop = startReconcileLoop(
    trunkDeps,
    config.reconcile.intervalSeconds,
    config.reconcile.mode,
  );
  const stopRecordingsSweep = startRecordingsSweep(
    recordingDeps(config, database.db, box, log),
    config.recordings.sweepIntervalSeconds,
  );
  log.info({ port, database: database.kind }, 'api listening');
  return {
    url: `http://${urlHost(config.api.host)}:${port}`,
    port,
    database,
    logger: log,
    edge,
    async close() {
      stopLoop();
      stopCallsLoop();
      stopRecordingsSweep();
      await startupReconcile;
      await webhookWorker?.close();
      await edge?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await rateLimits.close();
      await database.close();
    },
  };
}

export type { GatewayConfig };
