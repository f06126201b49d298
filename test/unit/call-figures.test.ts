import { describe, expect, it } from 'vitest';
import { callFigures, type FigureInput } from '../../src/calls/stats.js';

const H = 3600_000;
const first = Date.UTC(2026, 11, 1, 10);
const at = (hour: number, minute = 0) => new Date(first + hour * H + minute * 60_000);

function call(
  start: Date,
  end: Date | null,
  extra: Partial<FigureInput['calls'][number]> = {},
): FigureInput['calls'][number] {
  return {
    status: end ? 'ended' : 'active',
    startedAt: start,
    answeredAt: start,
    endedAt: end,
    endReason: end ? 'caller_hangup' : null,
    latency: {},
    ...extra,
  };
}

const figures = (input: Partial<FigureInput>) =>
  callFigures({
    hours: 3,
    first,
    now: at(2, 30).getTime(),
    capacity: 4,
    truncated: false,
    calls: [],
    failed: [],
    waits: [],
    ...input,
  });

describe('the call figures the console charts', () => {
  it('counts calls per hour by outcome (an answered call still going on is answered), with the answer rate', () => {
    const f = figures({
      calls: [
        call(at(0, 5), at(0, 10)),
        call(at(0, 20), at(0, 21), { answeredAt: null, endReason: 'no_answer' }),
        call(at(1, 0), at(1, 1), { status: 'failed', answeredAt: null, endReason: 'busy' }),
        call(at(2, 0), at(2, 0), { status: 'blocked', answeredAt: null, endReason: 'blocked' }),
        call(at(2, 10), null),
        call(at(2, 20), null, { status: 'ringing', answeredAt: null }),
      ],
      failed: [{ data: { sip_status: 486 } }, { data: JSON.stringify({ sip_status: 486 }) }],
    });
    expect(f.per_hour.map((h) => h.calls)).toEqual([
      { answered: 1, unanswered: 1, failed: 0, blocked: 0, ringing: 0 },
      { answered: 0, unanswered: 0, failed: 1, blocked: 0, ringing: 0 },
      { answered: 1, unanswered: 0, failed: 0, blocked: 1, ringing: 1 },
    ]);
    expect(f.per_hour[0]!.answer_rate).toBe(0.5);
    expect(f.per_hour[1]!.answer_rate).toBe(0);
    expect(f.end_reasons).toEqual({ caller_hangup: 1, no_answer: 1, busy: 1, blocked: 1 });
    expect(f.sip_codes).toEqual({ '486': 2 });
    expect(f.capacity).toBe(4);
  });

  it('counts a call going on through an hour with no start or end in it as concurrent', () => {
    const f = figures({
      calls: [
        call(new Date(first - 30 * 60_000), at(2, 5)),
        call(at(0, 10), at(0, 20)),
        call(at(0, 15), at(0, 25)),
      ],
    });
    expect(f.per_hour.map((h) => h.max_concurrent)).toEqual([3, 1, 1]);
  });

  it('gives per-turn latency p50/p95 and queue wait per hour, null where nothing was measured', () => {
    const turns = Array.from({ length: 20 }, (_, i) => ({ total_ms: (i + 1) * 100 }));
    const f = figures({
      calls: [call(at(1, 0), at(1, 5), { latency: JSON.stringify({ turns }) })],
      waits: [
        { at: at(1, 1), data: { waited_seconds: 4 } },
        { at: at(1, 2), data: { waited_seconds: 9 } },
      ],
    });
    expect(f.per_hour[0]!.turn_p50_ms).toBeNull();
    expect(f.per_hour[1]!.turn_p50_ms).toBe(1100);
    expect(f.per_hour[1]!.turn_p95_ms).toBe(2000);
    expect(f.per_hour[1]!.queue_wait_p95_seconds).toBe(9);
    expect(f.per_hour[2]!.queue_wait_p95_seconds).toBeNull();
  });
});
