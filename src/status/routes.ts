import { Router } from 'express';
import type { HostBeats } from '../agent-api/index.js';
import type { GatewayConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { EdgeRpc } from '../edge/index.js';
import { requireRole } from '../http-kit/auth.js';
import {
  callHostsPart,
  databasePart,
  edgePart,
  gatewayPart,
  livekitPart,
  redisPart,
  sipPart,
} from './parts.js';

export interface StatusDeps {
  config: GatewayConfig;
  db: Db;
  databaseKind: 'postgres' | 'embedded';
  edgeRpc?: EdgeRpc;
  hostBeats?: HostBeats;
}

/**
 * GET /api/config/status (viewer): what the stack runs and which parts are up. Always 200: the
 * answer is the report; `status` is `ok` when every part of this deployment is up, else
 * `degraded` with the down parts listed.
 */
export function statusRouter(deps: StatusDeps): Router {
  const r = Router();
  r.get('/config/status', requireRole('viewer'), async (_req, res) => {
    const hosts = (await deps.hostBeats?.list().catch(() => [])) ?? [];
    const [database, redis, livekit, sip, edge] = await Promise.all([
      databasePart(deps.db, deps.databaseKind),
      redisPart(deps.config.webhooksOut.redisUrl),
      livekitPart(deps.config, hosts),
      sipPart(deps.config),
      edgePart(deps.config, deps.edgeRpc),
    ]);
    const parts = {
      gateway: gatewayPart(),
      database,
      redis,
      livekit,
      sip,
      edge,
      call_hosts: callHostsPart(hosts),
    };
    const down = Object.entries(parts)
      .filter(([, p]) => p.status === 'down')
      .map(([name]) => name);
    res.json({ status: down.length === 0 ? 'ok' : 'degraded', down, parts });
  });
  return r;
}
