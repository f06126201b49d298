import type { Call } from '../db/index.js';

const HOUR_MS = 3600_000;

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

export interface FigureInput {
  hours: number;
  /** The window's first hour (ms since the epoch, on the hour). */
  first: number;
  now: number;
  capacity: number | undefined;
  truncated: boolean;
  calls: Pick<Call, 'status' | 'startedAt' | 'answeredAt' | 'endedAt' | 'endReason' | 'latency'>[];
  /** Data of the dial and transfer failures in the window. */
  failed: { data: unknown }[];
  /** The queue's admissions in the window (data.waited_seconds). */
  waits: { at: Date; data: unknown }[];
}

const json = (value: unknown) =>
  typeof value === 'string' ? (JSON.parse(value) as unknown) : value;

/** What GET /api/stats/calls answers, from the window's calls and events. */
export function callFigures(input: FigureInput) {
  const { hours, first, now, capacity, calls, failed, waits } = input;
  const slots = Array.from({ length: hours }, (_, i) => ({
    hour: new Date(first + i * HOUR_MS),
    outcomes: { answered: 0, unanswered: 0, failed: 0, blocked: 0, ringing: 0 },
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
                : 'ringing';
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
  // Each hour's start too: a call going on through an hour with no start or end in it counts.
  for (let i = 0; i < hours; i += 1) edges.push([first + i * HOUR_MS, 0]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  for (const [t, d] of edges) {
    open += d;
    const slot = slots[Math.max(0, slotOf(t))];
    if (slot && t >= first) slot.concurrent = Math.max(slot.concurrent, open);
  }
  for (const w of waits) {
    const data = json(w.data) as {
      waited_seconds?: number;
    };
    const slot = slots[slotOf(w.at.getTime())];
    if (slot && typeof data?.waited_seconds === 'number') slot.waits.push(data.waited_seconds);
  }
  const sipCodes: Record<string, number> = {};
  for (const f of failed) {
    const data = json(f.data) as {
      sip_status?: number | null;
    };
    if (typeof data?.sip_status === 'number')
      sipCodes[String(data.sip_status)] = (sipCodes[String(data.sip_status)] ?? 0) + 1;
  }
  return {
    hours,
    from: new Date(first).toISOString(),
    capacity: capacity ?? null,
    truncated: input.truncated,
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
  };
}
