import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ChartConfiguration } from 'chart.js';
import { api, blobUrl } from '../api';
import { ChartView, palette } from '../chart';
import { ActionButton, Can, ErrorBox, Table, useGet, when } from '../ui';
import { transcriptOf, type CallView } from './live';

interface CallList {
  items: CallView[];
  total: number;
  page: number;
  per_page: number;
}

const FILTERS = ['status', 'direction', 'channel', 'number', 'trunk_id', 'from', 'to'] as const;

/** Call history: GET /api/calls with its filters. */
export function CallHistory() {
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [applied, setApplied] = useState('');
  const [page, setPage] = useState(1);
  const query = new URLSearchParams({
    ...Object.fromEntries(new URLSearchParams(applied)),
    page: String(page),
  });
  const { data, error } = useGet<CallList>(`/calls?${query}`);
  const set = (k: string) => (e: Event) =>
    setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value });
  return (
    <section>
      <h1>Call history</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setApplied(new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString());
        }}
      >
        <label>
          Status
          <select value={filters.status ?? ''} onChange={set('status')}>
            {['', 'ringing', 'active', 'ended', 'failed', 'blocked'].map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Direction
          <select value={filters.direction ?? ''} onChange={set('direction')}>
            {['', 'inbound', 'outbound'].map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        {FILTERS.slice(3).map((f) => (
          <label key={f}>
            {f}
            <input
              name={f}
              value={filters[f] ?? ''}
              placeholder={f === 'from' || f === 'to' ? '2026-12-01T00:00:00Z' : ''}
              onInput={set(f)}
            />
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={error} />
      <Table
        rows={data?.items}
        empty="No calls match."
        columns={[
          { title: 'Started', value: (c) => <a href={`#/calls/${c.id}`}>{when(c.started_at)}</a> },
          { title: 'From', value: (c) => c.from_number ?? c.sip_user ?? '—' },
          { title: 'To', value: (c) => c.to_number ?? '—' },
          { title: 'Status', value: (c) => c.status },
          { title: 'End reason', value: (c) => c.end_reason ?? '—' },
          { title: 'Trunk', value: (c) => c.trunk_id ?? '—' },
        ]}
      />
      {data && (
        <p class="pager">
          <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Newer
          </button>
          page {data.page} of {Math.max(1, Math.ceil(data.total / data.per_page))} ({data.total}{' '}
          calls)
          <button
            type="button"
            disabled={page * data.per_page >= data.total}
            onClick={() => setPage(page + 1)}
          >
            Older
          </button>
        </p>
      )}
    </section>
  );
}

interface Turn {
  at: string;
  total_ms: number;
  endpointing_ms: number | null;
  stt_ms: number | null;
  llm_ms: number | null;
  tts_ms: number | null;
}
interface CallDetail extends CallView {
  events: { at: string; type: string; data: unknown }[];
  latency: { turns?: Turn[]; p50_ms?: number; p95_ms?: number } | string;
  duration_seconds: number | null;
  hung_up_by: string | null;
}
interface Delivery {
  id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
}

function latencyChart(turns: Turn[]): ChartConfiguration {
  const parts = ['endpointing_ms', 'stt_ms', 'llm_ms', 'tts_ms'] as const;
  const split = turns.some((t) => parts.some((p) => t[p] !== null));
  const labels = turns.map((_, i) => `turn ${i + 1}`);
  // What the parts do not account for (playout, network) stacks on top, so a bar is the turn.
  const other = turns.map((t) =>
    Math.max(0, t.total_ms - parts.reduce((n, p) => n + (t[p] ?? 0), 0)),
  );
  const datasets = split
    ? [
        ...parts.map((p, i) => ({
          label: p.replace('_ms', '').toUpperCase(),
          data: turns.map((t) => t[p] ?? 0),
          backgroundColor: palette[i],
          stack: 'turn',
        })),
        { label: 'other', data: other, backgroundColor: palette[6], stack: 'turn' },
      ]
    : [{ label: 'total (ms)', data: turns.map((t) => t.total_ms), backgroundColor: palette[0] }];
  return {
    type: 'bar',
    data: { labels, datasets },
    options: {
      scales: {
        x: { stacked: split },
        y: { stacked: split, title: { display: true, text: 'ms' } },
      },
    },
  };
}

/** A call's page: facts, timeline, transcript, per-turn latency, recording, webhook deliveries. */
export function CallPage(props: { id: string }) {
  const [reload, setReload] = useState(0);
  const { data: call, error } = useGet<CallDetail>(`/calls/${props.id}`, reload);
  const deliveries = useGet<{ items: Delivery[] }>(`/calls/${props.id}/webhook-deliveries`, reload);
  const [recording, setRecording] = useState<string | undefined>();
  const [recordingError, setRecordingError] = useState<unknown>();
  const [actionError, setActionError] = useState<unknown>();
  const latency = call
    ? typeof call.latency === 'string'
      ? JSON.parse(call.latency)
      : call.latency
    : {};
  const turns: Turn[] = latency?.turns ?? [];
  const chart = useMemo(() => latencyChart(turns), [call]);
  const hasRecording = call?.events.some((e) => e.type === 'recording');
  useEffect(() => () => recording && URL.revokeObjectURL(recording), [recording]);
  if (error) return <ErrorBox error={error} />;
  if (!call) return <p class="muted loading">Loading…</p>;
  return (
    <section class="call-page">
      <h1>
        Call {call.from_number ?? call.sip_user ?? '?'} → {call.to_number ?? '?'}
      </h1>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{call.status}</dd>
        <dt>Started</dt>
        <dd>{when(call.started_at)}</dd>
        <dt>Answered</dt>
        <dd>{when(call.answered_at)}</dd>
        <dt>Ended</dt>
        <dd>{when(call.ended_at)}</dd>
        <dt>End reason</dt>
        <dd>
          {call.end_reason ?? '—'} {call.hung_up_by && `(by ${call.hung_up_by})`}
        </dd>
        <dt>Trunk</dt>
        <dd>{call.trunk_id ?? '—'}</dd>
      </dl>
      <h2>Timeline</h2>
      <ol class="timeline">
        {call.events.map((e, i) => (
          <li key={i}>
            <time>{when(e.at)}</time> <b>{e.type}</b>{' '}
            <code>{JSON.stringify(typeof e.data === 'string' ? JSON.parse(e.data) : e.data)}</code>
          </li>
        ))}
      </ol>
      <h2>Transcript</h2>
      <ol class="transcript">
        {transcriptOf(call).map((l, i) => (
          <li key={i} data-speaker={l.speaker}>
            <b>{l.speaker}:</b> {l.text}
          </li>
        ))}
      </ol>
      <h2>Per-turn latency</h2>
      {turns.length === 0 ? (
        <p class="muted">No turns measured.</p>
      ) : (
        <>
          <p>
            p50 {latency.p50_ms} ms · p95 {latency.p95_ms} ms · {turns.length} turns
          </p>
          <ChartView id="latency-chart" config={chart} label="per-turn latency" />
        </>
      )}
      <h2>Recording</h2>
      {hasRecording ? (
        recording ? (
          <audio controls src={recording} />
        ) : (
          <ActionButton
            label="Load recording"
            action={() => blobUrl(`/calls/${call.id}/recording`).then(setRecording)}
            onError={setRecordingError}
          />
        )
      ) : (
        <p class="muted">This call was not recorded.</p>
      )}
      <ErrorBox error={recordingError} />
      <h2>Webhook deliveries</h2>
      <ErrorBox error={actionError ?? deliveries.error} />
      <Table
        rows={deliveries.data?.items}
        empty="No webhooks were sent about this call."
        columns={[
          { title: 'Event', value: (d) => d.event_type },
          { title: 'Status', value: (d) => d.status },
          { title: 'Attempts', value: (d) => d.attempts },
          { title: 'Last answer', value: (d) => d.last_status ?? d.last_error ?? '—' },
          {
            title: '',
            value: (d) => (
              <Can role="operator">
                <ActionButton
                  label="Replay"
                  action={() => api('POST', `/webhook-deliveries/${d.id}/replay`)}
                  onDone={() => setReload(reload + 1)}
                  onError={setActionError}
                />
              </Can>
            ),
          },
        ]}
      />
    </section>
  );
}
