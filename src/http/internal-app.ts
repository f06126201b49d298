import express, { type Express } from 'express';
import { agentInternalRouter, type HostBeats } from '../agent-api/index.js';
import type { CallControlDeps } from '../calls/control.js';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import { metricsRegistry } from '../kernel/metrics.js';
import type { Db } from '../db/index.js';
import { errorHandler, notFoundHandler } from '../http-kit/errors.js';
import type { RateLimits } from '../http-kit/rate-limit.js';
import type { AreaDeps } from './area-deps.js';

export interface InternalAppDeps {
  config: GatewayConfig;
  db: Db;
  logger: Logger;
  callControl: CallControlDeps;
  /** Its per-source ceiling for the call hosts (RATE_LIMIT_INTERNAL_PER_SOURCE). */
  rateLimits: RateLimits;
  /** The call hosts' beats (shared with GET /api/config/status). */
  hostBeats?: HostBeats;
  /** The areas' dependencies, built once (area-deps.ts). */
  areas: AreaDeps;
}

/**
 * What only the gateway's own processes and the operator's monitoring talk to: the agent worker's
 * /internal/agent routes and the Prometheus /metrics. Served on INTERNAL_HOST:INTERNAL_PORT
 * (loopback by default), never on the public listener, so the internet sees neither.
 */
export function createInternalApp(deps: InternalAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(deps.rateLimits.perSource);
  app.use(express.json({ limit: deps.config.api.bodyLimit, strict: true }));
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
  // Still authenticated by a token derived from LiveKit's API secret: loopback is not a login.
  app.use(
    agentInternalRouter(deps.db, deps.config.livekit.apiSecret, {
      recordings: deps.areas.recordings,
      maxActiveCalls: deps.config.calls.maxActive,
      callControl: deps.callControl,
      ...(deps.hostBeats && { hostBeats: deps.hostBeats }),
      ivrWebhooks: {
        allowPrivateTargets: deps.config.webhooksOut.allowPrivateTargets,
        secret: deps.areas.callWebhookSecret,
      },
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
