import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/index.js';
import { requireRole } from '../http/auth.js';
import { parseBody } from '../http/errors.js';

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

interface TurnFigure {
  total_ms?: number;
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function turnsOf(latency: unknown): number[] {
  const value = typeof latency === 'string' ? (JSON.parse(latency) as unknown) : latency;
  const turns = (value as { turns?: TurnFigure[] } | null)?.turns;
  return Array.isArray(turns)
    ? turns.map((t) => t.total_ms).filter((n): n is number => typeof n === 'number')
    : [];
}

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

    const slots = Array.from({ length: hours }, (_, i) => ({
      hour: new Date(first + i * HOUR_MS),
      outcomes: { answered: 0, unanswered: 0, failed: 0, blocked: 0, live: 0 },
      turns: [] as number[],
      waits: [] as number[],
      concurrent: 0,
    }));
    const slotOf = (t: number) => Math.floor((t - first) / HOUR_MS);
    const endReasons: Record<string, number> = {};
    for (const c of calls) {
      const startedAt = c.startedAt.getTime();
      const i = slotOf(startedAt);
      const slot = slots[i];
      if (slot) {
        const outcome =
          c.status === 'blocked'
            ? 'blocked'
            : c.status === 'failed'
              ? 'failed'
              : c.answeredAt
                ? 'answered'
                : c.endedAt
                  ? 'unanswered'
                  : 'live';
        slot.outcomes[outcome] += 1;
        slot.turns.push(...turnsOf(c.latency));
        if (c.endReason) endReasons[c.endReason] = (endReasons[c.endReason] ?? 0) + 1;
      }
    }
    // Most calls at once in each hour: a sweep over the starts and ends.
    const edges: [number, number][] = [];
    for (const c of calls) {
      if (c.status === 'blocked') continue;
      edges.push([c.startedAt.getTime(), 1]);
      edges.push([c.endedAt?.getTime() ?? now, -1]);
    }
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    for (const [t, d] of edges) {
      open += d;
      const slot = slots[Math.max(0, slotOf(t))];
      if (slot && t >= first) slot.concurrent = Math.max(slot.concurrent, open);
    }
    for (const w of waits) {
      const data = (typeof w.data === 'string' ? JSON.parse(w.data) : w.data) as {
        waited_seconds?: number;
      };
      const slot = slots[slotOf(w.at.getTime())];
      if (slot && typeof data?.waited_seconds === 'number') slot.waits.push(data.waited_seconds);
    }
    const sipCodes: Record<string, number> = {};
    for (const f of failed) {
      const data = (typeof f.data === 'string' ? JSON.parse(f.data) : f.data) as {
        sip_status?: number | null;
      };
      if (typeof data?.sip_status === 'number')
        sipCodes[String(data.sip_status)] = (sipCodes[String(data.sip_status)] ?? 0) + 1;
    }
    res.json({
      hours,
      from: from.toISOString(),
      capacity: capacity ?? null,
      truncated: calls.length === MAX_CALLS,
      per_hour: slots.map((s) => {
        const turns = s.turns.sort((a, b) => a - b);
        const waited = s.waits.sort((a, b) => a - b);
        const offered = s.outcomes.answered + s.outcomes.unanswered + s.outcomes.failed;
        return {
          hour: s.hour.toISOString(),
          calls: s.outcomes,
          answer_rate: offered > 0 ? s.outcomes.answered / offered : null,
          turn_p50_ms: quantile(turns, 0.5),
          turn_p95_ms: quantile(turns, 0.95),
          queue_wait_p95_seconds: quantile(waited, 0.95),
          max_concurrent: s.concurrent,
        };
      }),
      end_reasons: endReasons,
      sip_codes: sipCodes,
    });
  });
  return r;
}
