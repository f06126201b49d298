import { useEffect, useState } from 'preact/hooks';
import { api, get, streamEvents } from '../api';
import { ActionButton, Can, ErrorBox, seconds } from '../ui';

export interface CallView {
  id: string;
  status: string;
  direction: string;
  channel: string;
  from_number: string | null;
  to_number: string | null;
  sip_user: string | null;
  trunk_id: string | null;
  agent_profile_id: string | null;
  room_name: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  on_hold?: boolean;
  transcript?: { at: string; speaker: string; text: string }[] | string;
}

interface QueueView {
  queued: { call_id: string | null; position: number; waited_seconds: number }[];
}

const OPEN = new Set(['ringing', 'active']);

/**
 * `/console/?poll=N`: read the list every N seconds with plain fetches instead of the event
 * stream (for a proxy that buffers streams; and the benchmark's baseline). Each call's page is
 * fetched too, for its transcript and hold state.
 */
const pollSeconds = Number(new URLSearchParams(location.search).get('poll') ?? 0);

async function polledCalls(): Promise<CallView[]> {
  const list = await get<{ items: CallView[] }>('/calls/active?per_page=200');
  return Promise.all(
    list.items.map(async (c) => {
      const detail = await get<CallView & { events: { type: string }[] }>(`/calls/${c.id}`);
      const holds = detail.events.filter((e) => e.type === 'hold' || e.type === 'resume');
      return { ...detail, on_hold: holds.at(-1)?.type === 'hold' };
    }),
  );
}

export const transcriptOf = (c: { transcript?: CallView['transcript'] }) => {
  const t = typeof c.transcript === 'string' ? JSON.parse(c.transcript) : c.transcript;
  return Array.isArray(t) ? (t as { at: string; speaker: string; text: string }[]) : [];
};

/** Live calls: the active list once, then every change from GET /api/events (no polling). */
export function LiveCalls(props: { profiles: Map<string, string>; trunks: Map<string, string> }) {
  const [calls, setCalls] = useState(new Map<string, CallView>());
  const [queue, setQueue] = useState(new Map<string, number>());
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<unknown>();
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const abort = new AbortController();
    let queueTimer: number | undefined;
    const loadQueue = () =>
      get<QueueView>('/calls/queue').then(
        (q) =>
          setQueue(new Map(q.queued.filter((e) => e.call_id).map((e) => [e.call_id!, e.position]))),
        () => undefined,
      );
    get<{ items: CallView[] }>('/calls/active?per_page=200').then(
      (list) => setCalls(new Map(list.items.map((c) => [c.id, c]))),
      setError,
    );
    void loadQueue();
    if (pollSeconds > 0) {
      setConnected(true);
      const poll = window.setInterval(() => {
        polledCalls().then((list) => setCalls(new Map(list.map((c) => [c.id, c]))), setError);
        void loadQueue();
      }, pollSeconds * 1000);
      const tick = window.setInterval(() => setNow(Date.now()), 1000);
      return () => {
        clearInterval(poll);
        clearInterval(tick);
      };
    }
    void streamEvents(
      (type, data) => {
        if (type !== 'call') return;
        const call = data as CallView;
        setCalls((old) => {
          const next = new Map(old);
          if (OPEN.has(call.status)) next.set(call.id, { ...old.get(call.id), ...call });
          else next.delete(call.id);
          return next;
        });
        // Positions move when a call comes or goes: read them again, once per burst.
        clearTimeout(queueTimer);
        queueTimer = window.setTimeout(loadQueue, 300);
      },
      abort.signal,
      setConnected,
    );
    const tick = window.setInterval(() => setNow(Date.now()), 1000);
    return () => {
      abort.abort();
      clearInterval(tick);
      clearTimeout(queueTimer);
    };
  }, []);

  const rows = [...calls.values()].sort((a, b) => a.started_at.localeCompare(b.started_at));
  return (
    <section>
      <h1>
        Live calls{' '}
        <span class={connected ? 'pill ok' : 'pill'}>
          {pollSeconds > 0 ? `polled every ${pollSeconds} s` : connected ? 'live' : 'connecting'}
        </span>
      </h1>
      <ErrorBox error={error} />
      {rows.length === 0 && <p class="muted">No calls right now.</p>}
      <div class="cards">
        {rows.map((c) => (
          <LiveCallCard
            key={c.id}
            call={c}
            now={now}
            position={queue.get(c.id)}
            profile={c.agent_profile_id ? props.profiles.get(c.agent_profile_id) : undefined}
            trunk={c.trunk_id ? props.trunks.get(c.trunk_id) : undefined}
          />
        ))}
      </div>
    </section>
  );
}

function stateOf(c: CallView, position: number | undefined): string {
  if (position !== undefined) return `queued at position ${position}`;
  if (c.on_hold) return 'on hold';
  return c.status === 'active' ? 'talking' : c.status;
}

function LiveCallCard(props: {
  call: CallView;
  now: number;
  position: number | undefined;
  profile: string | undefined;
  trunk: string | undefined;
}) {
  const c = props.call;
  const [error, setError] = useState<unknown>();
  const [to, setTo] = useState('');
  const lines = transcriptOf(c).slice(-6);
  return (
    <article class="card live-call" data-call-id={c.id}>
      <header>
        <strong>{c.from_number ?? c.sip_user ?? '?'}</strong> →{' '}
        <strong>{c.to_number ?? '?'}</strong>
        <span class="pill state">{stateOf(c, props.position)}</span>
      </header>
      <dl class="facts">
        <dt>Duration</dt>
        <dd>{seconds((props.now - new Date(c.started_at).getTime()) / 1000)}</dd>
        <dt>Trunk</dt>
        <dd>{props.trunk ?? c.trunk_id ?? '—'}</dd>
        <dt>Agent profile</dt>
        <dd>{props.profile ?? c.agent_profile_id ?? 'offline'}</dd>
        <dt>Mode</dt>
        <dd>
          {c.direction} · {c.channel}
        </dd>
      </dl>
      <ol class="transcript">
        {lines.map((l, i) => (
          <li key={i} data-speaker={l.speaker}>
            <b>{l.speaker}:</b> {l.text}
          </li>
        ))}
      </ol>
      <ErrorBox error={error} />
      <Can role="operator">
        <div class="actions">
          <ActionButton
            label="Hang up"
            danger
            action={() => api('POST', `/calls/${c.id}/hangup`)}
            onError={setError}
          />
          {c.on_hold ? (
            <ActionButton
              label="Resume"
              action={() => api('POST', `/calls/${c.id}/resume`)}
              onError={setError}
            />
          ) : (
            <ActionButton
              label="Hold"
              action={() => api('POST', `/calls/${c.id}/hold`)}
              onError={setError}
            />
          )}
          <input
            aria-label="Transfer to"
            placeholder="transfer to +…"
            value={to}
            onInput={(e) => setTo((e.target as HTMLInputElement).value)}
          />
          <ActionButton
            label="Transfer"
            action={() => api('POST', `/calls/${c.id}/transfer`, { to })}
            onError={setError}
          />
        </div>
      </Can>
      <a href={`#/calls/${c.id}`}>Call page</a>
    </article>
  );
}
