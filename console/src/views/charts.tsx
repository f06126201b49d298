import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { ChartView, palette } from '../chart';
import { ErrorBox, useGet } from '../ui';

interface Hour {
  hour: string;
  calls: Record<'answered' | 'unanswered' | 'failed' | 'blocked' | 'ringing', number>;
  answer_rate: number | null;
  turn_p50_ms: number | null;
  turn_p95_ms: number | null;
  queue_wait_p95_seconds: number | null;
  max_concurrent: number;
}
interface Stats {
  per_hour: Hour[];
  end_reasons: Record<string, number>;
  sip_codes: Record<string, number>;
  capacity: number | null;
}

const hourLabel = (iso: string) =>
  new Date(iso).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });

function configs(s: Stats): Record<string, ChartConfiguration> {
  const labels = s.per_hour.map((h) => hourLabel(h.hour));
  const outcomes = ['answered', 'unanswered', 'failed', 'blocked', 'ringing'] as const;
  const doughnut = (data: Record<string, number>): ChartConfiguration => ({
    type: 'doughnut',
    data: {
      labels: Object.keys(data),
      datasets: [{ data: Object.values(data), backgroundColor: palette }],
    },
  });
  return {
    calls: {
      type: 'bar',
      data: {
        labels,
        datasets: outcomes.map((o, i) => ({
          label: o,
          data: s.per_hour.map((h) => h.calls[o]),
          backgroundColor: palette[i],
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    },
    answer: {
      type: 'line',
      data: {
        labels,
        datasets: [
          {
            label: 'answer rate',
            data: s.per_hour.map((h) => h.answer_rate),
            borderColor: palette[1],
          },
        ],
      },
      options: { scales: { y: { min: 0, max: 1 } } },
    },
    latency: {
      type: 'line',
      data: {
        labels,
        datasets: [
          {
            label: 'turn p50 (ms)',
            data: s.per_hour.map((h) => h.turn_p50_ms),
            borderColor: palette[0],
          },
          {
            label: 'turn p95 (ms)',
            data: s.per_hour.map((h) => h.turn_p95_ms),
            borderColor: palette[2],
          },
        ],
      },
    },
    queue: {
      type: 'line',
      data: {
        labels,
        datasets: [
          {
            label: 'queue wait p95 (s)',
            data: s.per_hour.map((h) => h.queue_wait_p95_seconds),
            borderColor: palette[3],
          },
        ],
      },
    },
    concurrent: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            label: 'most calls at once',
            data: s.per_hour.map((h) => h.max_concurrent),
            backgroundColor: palette[5],
          },
          ...(s.capacity
            ? [
                {
                  type: 'line' as const,
                  label: 'capacity',
                  data: s.per_hour.map(() => s.capacity),
                  borderColor: palette[2],
                },
              ]
            : []),
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    },
    reasons: doughnut(s.end_reasons),
    codes: doughnut(s.sip_codes),
  } as Record<string, ChartConfiguration>;
}

const TITLES: Record<string, string> = {
  calls: 'Calls per hour by outcome',
  answer: 'Answer rate',
  latency: 'Per-turn latency p50 / p95',
  queue: 'Queue wait',
  concurrent: 'Concurrent calls against capacity',
  reasons: 'End reasons',
  codes: 'SIP status codes of failed calls',
};

/** The charts of GET /api/stats/calls. */
export function Charts() {
  const [hours, setHours] = useState(24);
  const { data, error } = useGet<Stats>(`/stats/calls?hours=${hours}`);
  const all = useMemo(() => (data ? configs(data) : undefined), [data]);
  return (
    <section>
      <h1>Charts</h1>
      <label>
        Window{' '}
        <select
          value={hours}
          onChange={(e) => setHours(Number((e.target as HTMLSelectElement).value))}
        >
          {[6, 24, 72, 168].map((h) => (
            <option key={h} value={h}>
              last {h} hours
            </option>
          ))}
        </select>
      </label>
      <ErrorBox error={error} />
      <div class="charts">
        {all &&
          Object.entries(all).map(([k, config]) => (
            <figure key={k} class="card">
              <figcaption>{TITLES[k]}</figcaption>
              {(k === 'reasons' || k === 'codes') &&
              Object.keys(k === 'reasons' ? data!.end_reasons : data!.sip_codes).length === 0 ? (
                <p class="muted">None in this window.</p>
              ) : (
                <ChartView id={`chart-${k}`} config={config} label={TITLES[k]!} />
              )}
            </figure>
          ))}
      </div>
    </section>
  );
}
