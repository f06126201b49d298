import { urlHost } from '../kernel/url-host.js';
import type { Server } from 'node:http';
import type { Express } from 'express';
import { loadConfig, type GatewayConfig } from '../config/index.js';
import { createLogger, type Logger } from '../kernel/logger.js';
import {
  installationId,
  installationOf,
  loadEncryptionKey,
  openDatabase,
  SecretBox,
  type Database,
} from '../db/index.js';
import { createLivekitClients } from '../livekit/index.js';
import { reconcile, startReconcileLoop } from '../trunks/index.js';
import { startCallsReconcileLoop } from '../calls/reconcile.js';
import { startDeliveryWorker } from '../webhooks/outbound/index.js';
import { blocklistEdgeTask } from '../blocklist/index.js';
import {
  edgeDefaults,
  smsEdgeToken,
  startEdgeSupervisor,
  type EdgeSupervisor,
} from '../edge/index.js';
import { sipUserDialer, sipUsersEdgeTask } from '../sipusers/index.js';
import { startSmsListener, startSmsWorker, type SmsListener } from '../sms/index.js';
import type { DestinationPolicy } from '../destinations/index.js';
import { startRecordingsSweep } from '../recordings/index.js';
import { startRetentionSweep } from '../retention/index.js';
import { HostBeats } from '../agent-api/index.js';
import { createApp } from './app.js';
import { buildAreaDeps } from './area-deps.js';
import { createInternalApp } from './internal-app.js';
import { assertStrongLivekitSecret } from '../config/livekit-secret.js';
import { createRateLimits } from '../http-kit/rate-limit.js';
import type { CallControlDeps } from '../calls/control.js';
import { reportOpenCalls } from '../calls/metrics.js';

export interface RunningApi {
  url: string;
  port: number;
  /** The internal listener: /internal/agent/* (the agent worker) and /metrics. */
  internalUrl: string;
  internalPort: number;
  database: Database;
  logger: Logger;
  /** The SIP edge supervisor, when EDGE_ENABLED. */
  edge?: EdgeSupervisor;
  /** Where the edge hands inbound SMS (SMS_SIP_HOST:SMS_SIP_PORT), when EDGE_ENABLED. */
  smsListener?: SmsListener;
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
  assertStrongLivekitSecret(config);
  const log = logger ?? createLogger({ level: config.log.level, redactPii: config.log.redactPii });
  const database = await openDatabase(config);
  const box = new SecretBox(loadEncryptionKey(config.encryptionKey, config.dataDir));
  const livekit = createLivekitClients(config);
  const installation = await installationOf(database.db, config.installationId);
  // The edge is started below; trunk changes reach it only from requests served after that.
  const areas = buildAreaDeps(
    { config, db: database.db, livekit, box, logger: log, installation },
    config.edge.enabled ? () => void edge?.syncAdmission() : undefined,
  );
  const webhookWorker = config.webhooksOut.redisUrl
    ? startDeliveryWorker(
        {
          db: database.db,
          box,
          logger: log,
          settings: config.webhooksOut,
          callSecret: areas.callWebhookSecret,
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
        sipUsersEdgeTask({
          db: database.db,
          box,
          lockSeconds: edgeDefaults.lockSeconds,
          syncLivekit: areas.syncSipUsers,
        }),
      ])
    : undefined;
  // SMS over SIP MESSAGE (docs/sms.md): through the edge both ways; sent and answered by a
  // queue worker on Redis, as customer webhooks are.
  const smsWorker =
    config.edge.enabled && config.webhooksOut.redisUrl
      ? startSmsWorker(
          {
            db: database.db,
            logger: log,
            send: {
              db: database.db,
              box,
              logger: log,
              relay: smsRelay(config.edge.rpcUrl, config.edge.rpcSecret),
              settings: config.sms,
              kickWebhooks: webhookWorker?.kick,
            },
            reply: {
              db: database.db,
              logger: log,
              historyMessages: config.sms.historyMessages,
              env: process.env,
              destinations: config.destinations as DestinationPolicy,
            },
          },
          config.webhooksOut.redisUrl,
          await installationId(database.db),
        )
      : undefined;
  if (config.edge.enabled && !smsWorker)
    log.warn('REDIS_URL is unset: texts are stored but none is sent or answered');
  const smsListener = config.edge.enabled
    ? await startSmsListener(
        {
          db: database.db,
          box,
          logger: log,
          edgeToken: smsEdgeToken(config.edge.rpcSecret),
          onStored: () => {
            smsWorker?.kick();
            webhookWorker?.kick();
          },
          onReport: () => webhookWorker?.kick(),
        },
        config.sms.sipHost,
        config.sms.sipPort,
      )
    : undefined;
  const rateLimits = createRateLimits(config, log);
  const hostBeats = new HostBeats(config.webhooksOut.redisUrl, log, installation);
  // Outbound calls and transfers, the API's and the agent's: one destination policy decides.
  const callControl: CallControlDeps = {
    db: database.db,
    livekit,
    logger: log,
    agentName: config.agent.name,
    destinations: config.destinations as CallControlDeps['destinations'],
    maxActiveCalls: config.calls.maxActive,
    callsPerSecond: rateLimits.callsPerSecond,
    sipUsers: edge
      ? sipUserDialer({
          db: database.db,
          rpc: edge.rpc,
          sip: livekit.sip,
          installation,
          edgeSourceAddress: config.edge.sourceAddress,
          agentName: config.agent.name,
          edgeAddress: config.edge.contactAddress,
          edgeSecret: config.edge.rpcSecret,
        })
      : undefined,
    installation,
  };
  const app = createApp({
    config,
    db: database.db,
    livekit,
    box,
    logger: log,
    kickWebhooks: webhookWorker?.kick,
    kickSms: smsWorker?.kick,
    edgeRpc: edge?.rpc,
    rateLimits,
    callControl,
    areas,
    installation,
    hostBeats,
    databaseKind: database.kind,
  });
  const server = await listen(app, config.api.port, config.api.host);
  const internalServer = await listen(
    createInternalApp({
      config,
      db: database.db,
      logger: log,
      callControl,
      rateLimits,
      hostBeats,
      areas,
    }),
    config.internal.port,
    config.internal.host,
  ).catch(async (error: unknown) => {
    await closeServer(server);
    throw error;
  });
  const port = portOf(server, config.api.port);
  const internalPort = portOf(internalServer, config.internal.port);
  // Awaited by close(): the pool must outlive the startup reconcile's transaction.
  const startupReconcile = reconcile(areas.trunks, config.reconcile.mode)
    .then((report) =>
      log.info(
        { drift: report.drift.length, livekit_reachable: report.livekit_reachable },
        'startup reconcile finished',
      ),
    )
    .catch((error: unknown) => log.error({ err: error }, 'startup reconcile failed'));
  const stopCallsLoop = startCallsReconcileLoop(
    { db: database.db, rooms: livekit.rooms, logger: log, installation },
    config.calls.reconcileIntervalSeconds,
  );
  const stopLoop = startReconcileLoop(
    areas.trunks,
    config.reconcile.intervalSeconds,
    config.reconcile.mode,
  );
  const stopRecordingsSweep = startRecordingsSweep(
    areas.recordings,
    config.recordings.sweepIntervalSeconds,
  );
  const stopRetentionSweep = startRetentionSweep(
    { db: database.db, logger: log, settings: config.retention },
    config.retention.sweepIntervalSeconds,
  );
  const stopOpenCallsMetric = reportOpenCalls(database.db);
  log.info({ port, internal_port: internalPort, database: database.kind }, 'api listening');
  return {
    url: `http://${urlHost(config.api.host)}:${port}`,
    port,
    internalUrl: `http://${urlHost(config.internal.host)}:${internalPort}`,
    internalPort,
    database,
    logger: log,
    edge,
    smsListener,
    async close() {
      stopOpenCallsMetric();
      stopLoop();
      stopCallsLoop();
      stopRecordingsSweep();
      stopRetentionSweep();
      await startupReconcile;
      await smsListener?.close();
      await smsWorker?.close();
      await webhookWorker?.close();
      await edge?.stop();
      await Promise.all([closeServer(server), closeServer(internalServer)]);
      await rateLimits.close();
      await hostBeats.close();
      await database.close();
    },
  };
}

/** The edge relays the gateway's MESSAGEs from its JSON-RPC address, over UDP, as REGISTERs. */
function smsRelay(rpcUrl: string, token: string) {
  const url = new URL(rpcUrl);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80), token };
}

function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
}

function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

export type { GatewayConfig };
