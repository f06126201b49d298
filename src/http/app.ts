import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Express } from 'express';
import { AgentDispatchClient } from 'livekit-server-sdk';
import { Counter, Histogram } from 'prom-client';
import { AgentRecovery, type HostBeats } from '../agent-api/index.js';
import { apiKeysRouter } from '../apikeys/routes.js';
import type { CallControlDeps } from '../calls/control.js';
import { callControlRouter } from '../calls/control-routes.js';
import { CallForwarder } from '../forwarding/index.js';
import { callsRouter } from '../calls/routes.js';
import { eventsRouter } from '../calls/events-routes.js';
import { LiveCallFeed } from '../calls/live-feed.js';
import { callStatsRouter } from '../calls/stats-routes.js';
import { consoleRouter } from '../console/index.js';
import { recordingLinkRouter, recordingsRouter } from '../recordings/index.js';
import { diagnosticsRouter } from '../diagnostics/routes.js';
import { edgeDefaults, edgeRouter, type EdgeRpc } from '../edge/index.js';
import { auditRouter } from '../audit/routes.js';
import { blocklistRouter } from '../blocklist/index.js';
import { queueRouter } from '../queue/routes.js';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import { metricsRegistry } from '../kernel/metrics.js';
import { packageRoot } from '../config/paths.js';
import { sql, type Db, type SecretBox } from '../db/index.js';
import type { LivekitClients } from '../livekit/index.js';
import { agentProfilesRouter } from '../profiles/index.js';
import { sipUsersRouter, type SipUsersDeps } from '../sipusers/index.js';
import { smsRouter, type SmsRouteDeps } from '../sms/index.js';
import { statusRouter } from '../status/index.js';
import { trunksRouter } from '../trunks/index.js';
import { joinRouter, turnRouter } from '../turn/routes.js';
import { livekitWebhookRouter } from '../calls/livekit-webhook-routes.js';
import { webhookEndpointsRouter } from '../webhooks/outbound/index.js';
import { authenticate } from '../http-kit/auth.js';
import { errorHandler, notFoundHandler } from '../http-kit/errors.js';
import type { RateLimits } from '../http-kit/rate-limit.js';
import type { AreaDeps } from './area-deps.js';

// The package exports no package.json; its CommonJS entry sits beside the ES module build.
const livekitClientBundle = path.join(
  path.dirname(createRequire(import.meta.url).resolve('livekit-client')),
  'livekit-client.esm.mjs',
);

export interface AppDeps {
  config: GatewayConfig;
  /** Tells the customer-webhook worker to look for due deliveries now. */
  kickWebhooks?: () => void;
  /** Tells the SMS worker a message is due now. */
  kickSms?: () => void;
  db: Db;
  livekit: LivekitClients;
  box: SecretBox;
  logger: Logger;
  /** The SIP edge's JSON-RPC, when EDGE_ENABLED. */
  edgeRpc?: EdgeRpc;
  /** API rate limits and trunk call rates (src/http-kit/rate-limit.ts). */
  rateLimits: RateLimits;
  /** Outbound calls and transfers, the API's and the agent's: one destination policy decides. */
  callControl: CallControlDeps;
  /** The areas' dependencies, built once (area-deps.ts). */
  areas: AreaDeps;
  /** This installation's id, marking its LiveKit objects (installationOf in src/db). */
  installation: string;
  /** The call hosts' beats (GET /api/config/status). */
  hostBeats?: HostBeats;
  databaseKind?: 'postgres' | 'embedded';
}

const requests = new Counter({
  name: 'voice_gateway_http_requests_total',
  help: 'HTTP requests by method, route and status',
  labelNames: ['method', 'route', 'status'],
  registers: [metricsRegistry],
});
const latency = new Histogram({
  name: 'voice_gateway_http_request_duration_seconds',
  help: 'HTTP request latency by method and route',
  labelNames: ['method', 'route'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});

/** Phones register at the edge's public address (EDGE_CONTACT_ADDRESS). */
function sipUsersDeps(deps: AppDeps): SipUsersDeps {
  const contact = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(deps.config.edge.contactAddress);
  return {
    db: deps.db,
    box: deps.box,
    rpc: deps.edgeRpc,
    realm: deps.config.sipUsers.realm,
    domain: deps.config.sipUsers.domain,
    registerExpires: deps.config.sipUsers.registerExpires,
    proxy: {
      host: contact?.[1] ?? deps.config.edge.contactAddress,
      port: Number(contact?.[2] ?? 5060),
    },
    lockSeconds: edgeDefaults.lockSeconds,
    syncLivekit: deps.config.edge.enabled ? deps.areas.syncSipUsers : undefined,
  };
}

/** The Express app: middleware, auth, and each area's router. No business logic here. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const end = latency.startTimer();
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const labels = { method: req.method, route: `${req.baseUrl}${route}` };
      end(labels);
      requests.inc({ ...labels, status: String(res.statusCode) });
    });
    next();
  });
  app.use(deps.rateLimits.perSource);
  const forwarder = new CallForwarder(deps.callControl, deps.config.livekit);
  const agentRecovery = new AgentRecovery({
    db: deps.db,
    rooms: deps.livekit.rooms,
    livekit: deps.config.livekit,
    agentName: deps.config.agent.name,
    logger: deps.logger,
  });
  // Before the JSON parser: LiveKit's signature covers the raw body.
  app.use(
    livekitWebhookRouter({
      db: deps.db,
      logger: deps.logger,
      apiKey: deps.config.livekit.apiKey,
      apiSecret: deps.config.livekit.apiSecret,
      bodyLimit: deps.config.webhooks.livekitBodyLimit,
      clockToleranceSeconds: deps.config.webhooks.livekitClockToleranceSeconds,
      installation: deps.installation,
      onApplied: (event) => {
        agentRecovery.consider(event);
        forwarder.consider(event);
      },
    }),
  );
  app.use(express.json({ limit: deps.config.api.bodyLimit, strict: true }));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await sql`SELECT 1`.execute(deps.db);
      checks.database = 'ok';
    } catch (error) {
      checks.database = error instanceof Error ? error.message : String(error);
    }
    try {
      const response = await fetch(deps.config.livekit.url, { signal: AbortSignal.timeout(2000) });
      checks.livekit = response.ok ? 'ok' : `HTTP ${response.status}`;
    } catch (error) {
      checks.livekit = error instanceof Error ? error.message : String(error);
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks });
  });
  // The browser client, and the LiveKit browser SDK it imports, served as they are.
  app.get('/web/vendor/livekit-client.esm.mjs', (_req, res) => {
    res.type('text/javascript').sendFile(livekitClientBundle);
  });
  app.use('/web', express.static(path.join(packageRoot(), 'web'), { index: 'index.html' }));
  app.use(consoleRouter());

  const onAuthError = (error: unknown) =>
    deps.logger.warn({ err: error }, 'could not record API key use');
  const turnDeps = {
    config: deps.config,
    db: deps.db,
    box: deps.box,
    rooms: deps.livekit.rooms,
    dispatch: new AgentDispatchClient(
      deps.config.livekit.url,
      deps.config.livekit.apiKey,
      deps.config.livekit.apiSecret,
    ),
    agentName: deps.config.agent.name,
    onAuthError,
    installation: deps.installation,
  };
  // Before the API-key router: a signed join link may stand in for a key.
  app.use(joinRouter(turnDeps));
  // The agent worker's /internal routes and /metrics are on the internal listener (internal-app.ts).
  const callControl = deps.callControl;
  const recordings = deps.areas.recordings;
  // Before the API-key router: a signed recording link stands in for a key.
  app.use(recordingLinkRouter(recordings));

  const api = express.Router();
  api.use(authenticate(deps.db, onAuthError, deps.rateLimits));
  // Before trunksRouter: its /numbers/:id would otherwise take /numbers/blocked.
  api.use(
    blocklistRouter({
      db: deps.db,
      logger: deps.logger,
      rpc: deps.edgeRpc,
      defaultSipStatus: deps.config.blocklist.sipStatus,
    }),
  );
  api.use(trunksRouter(deps.areas.trunks, deps.config.reconcile.mode));
  api.use(
    edgeRouter({
      db: deps.db,
      rpc: deps.edgeRpc,
      lockSeconds: edgeDefaults.lockSeconds,
      banSeconds: edgeDefaults.banSeconds,
    }),
  );
  api.use(sipUsersRouter(sipUsersDeps(deps)));
  api.use(apiKeysRouter(deps.db));
  api.use(auditRouter(deps.db));
  api.use(agentProfilesRouter(deps.db, deps.config.agent.providerKeys));
  // Before callsRouter: its GET /calls/:id would otherwise take /calls/active.
  api.use(callControlRouter(callControl));
  api.use(recordingsRouter(recordings));
  // Before callsRouter, like callControlRouter: /calls/queue is no call id.
  api.use(queueRouter({ db: deps.db, maxActive: deps.config.calls.maxActive }));
  api.use(
    callsRouter(deps.db, {
      rooms: deps.livekit.rooms,
      logger: deps.logger,
      installation: deps.installation,
    }),
  );
  api.use(
    eventsRouter(
      new LiveCallFeed(deps.db, (error) =>
        deps.logger.warn({ err: error }, 'live call feed could not read the calls'),
      ),
      deps.db,
    ),
  );
  api.use(callStatsRouter(deps.db, deps.config.calls.maxActive));
  api.use(
    smsRouter({
      db: deps.db,
      destinations: deps.config.destinations as SmsRouteDeps['destinations'],
      kick: deps.kickSms ?? (() => {}),
    }),
  );
  api.use(turnRouter(turnDeps));
  api.use(diagnosticsRouter(deps.config, deps.db));
  api.use(
    statusRouter({
      config: deps.config,
      db: deps.db,
      databaseKind: deps.databaseKind ?? 'postgres',
      ...(deps.edgeRpc && { edgeRpc: deps.edgeRpc }),
      ...(deps.hostBeats && { hostBeats: deps.hostBeats }),
    }),
  );
  api.use(
    webhookEndpointsRouter({
      db: deps.db,
      box: deps.box,
      secretGraceMs: deps.config.webhooksOut.secretGraceMs,
      kick: deps.kickWebhooks ?? (() => {}),
    }),
  );
  app.use('/api', api);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
