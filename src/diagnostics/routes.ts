import { Router } from 'express';
import type { GatewayConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import { requireRole } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { pathParam } from '../http/params.js';
import { areas, diagnose, exitCode, type Area } from './index.js';

/** GET /api/diagnostics and /api/diagnostics/:area: the CLI's findings as JSON. */
export function diagnosticsRouter(config: GatewayConfig, db: Db): Router {
  const r = Router();
  const answer = async (area: Area | 'all') => {
    const findings = await diagnose(config, area, db);
    const code = exitCode(findings);
    return { area, status: code === 0 ? 'pass' : code === 1 ? 'warn' : 'fail', findings };
  };
  r.get('/diagnostics', requireRole('operator'), async (_req, res) => {
    res.json(await answer('all'));
  });
  r.get('/diagnostics/:area', requireRole('operator'), async (req, res) => {
    const area = pathParam(req, 'area');
    if (area !== 'all' && !(areas as readonly string[]).includes(area)) {
      throw new ApiError(
        404,
        'not_found',
        `no diagnostics area ${JSON.stringify(area)}; one of ${[...areas, 'all'].join(', ')}`,
      );
    }
    res.json(await answer(area as Area | 'all'));
  });
  return r;
}
