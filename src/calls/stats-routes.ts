import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/index.js';
import { requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { callFigures } from './stats.js';

const HOUR_MS = 3600_000;
/** The most calls one answer looks at; `truncated` says when the window held more. */
const MAX_CALLS = 50_000;

const statsQuery = z.object({
  hours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 31)
    .default(24),
});

/**
 * GET /api/stats/calls?hours=24: the figures the console charts, per hour of the window (calls
 * by outcome, answer rate, per-turn latency p50/p95, queue wait, most calls at once) and over
 * it (end reasons, SIP status codes of failed calls).
 */
export function callStatsRouter(db: Db, capacity: number | undefined): Router {
  const r = Router();
  r.get('/stats/calls', requireRole('viewer'), async (req, res) => {
    const { hours } = parseBody(statsQuery, req.query);
    const now = Date.now();
    // The window's hours end with the one now running.
    const first = Math.floor(now / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS;
    const from = new Date(first);
    const calls = await db
      .selectFrom('calls')
      .select(['id', 'status', 'startedAt', 'answeredAt', 'endedAt', 'endReason', 'latency'])
      .where((eb) => eb.or([eb('endedAt', 'is', null), eb('endedAt', '>=', from)]))
      .where('startedAt', '<', new Date(now))
      .orderBy('startedAt', 'desc')
      .limit(MAX_CALLS)
      .execute();
    const failed = await db
      .selectFrom('callEvents')
      .select(['data'])
      .where('at', '>=', from)
      .where('type', 'in', ['dial_failed', 'transfer_failed'])
      .execute();
    const waits = await db
      .selectFrom('callEvents')
      .select(['at', 'data'])
      .where('at', '>=', from)
      .where('type', '=', 'admitted')
      .execute();

    res.json(
      callFigures({
        hours,
        first,
        now,
        capacity,
        truncated: calls.length === MAX_CALLS,
        calls,
        failed,
        waits,
      }),
    );
  });
  return r;
}
