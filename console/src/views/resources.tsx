import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, type Role } from '../api';
import { ActionButton, Can, ErrorBox, Table, useGet, type Column } from '../ui';

type Row = Record<string, unknown>;

/** A value as a short cell: lists joined, objects as key=value, nothing as a dash. */
export function cell(value: unknown): ComponentChildren {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value))
    return (
      value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ') || '—'
    );
  if (typeof value === 'object')
    return Object.entries(value as Row)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
  return String(value);
}

/** The list in an API answer: `items`, or the first list it holds. */
export function itemsOf(answer: unknown): Row[] | undefined {
  if (answer === undefined) return undefined;
  if (Array.isArray(answer)) return answer as Row[];
  const obj = answer as Row;
  if (Array.isArray(obj.items)) return obj.items as Row[];
  return (Object.values(obj).find(Array.isArray) as Row[] | undefined) ?? [];
}

export interface RowAction {
  label: string;
  role: Role;
  run: (row: Row) => Promise<unknown>;
  danger?: boolean;
  /** Offered only for rows where this holds (e.g. Activate for an inactive trunk). */
  when?: (row: Row) => boolean;
}

/** A list from the API (`items`), its columns, and the row actions the key's role allows. */
export function ResourceList(props: {
  title: string;
  path: string;
  fields: string[];
  actions?: RowAction[];
  detail?: (row: Row) => ComponentChildren;
  intro?: ComponentChildren;
  /** Columns computed from more than the row (after the fields). */
  extra?: Column<Row>[];
  /** A second list on the page: an h2 under the page's h1. */
  sub?: boolean;
}) {
  const [reload, setReload] = useState(0);
  const [error, setError] = useState<unknown>();
  const [open, setOpen] = useState<string | undefined>();
  const { data: answer, error: loadError } = useGet<unknown>(props.path, reload);
  const items = itemsOf(answer);
  const columns: Column<Row>[] = props.fields.map((f) => ({
    title: f.replaceAll('.', ' ').replaceAll('_', ' '),
    value: (row) => cell(f.split('.').reduce<unknown>((v, k) => (v as Row | undefined)?.[k], row)),
  }));
  columns.push(...(props.extra ?? []));
  if (props.actions?.length || props.detail) {
    columns.push({
      title: 'actions',
      value: (row) => (
        <div class="actions">
          {props.detail && (
            <button
              type="button"
              onClick={() => setOpen(open === String(row.id) ? undefined : String(row.id))}
            >
              Details
            </button>
          )}
          {props.actions
            ?.filter((a) => !a.when || a.when(row))
            .map((a) => (
              <Can role={a.role} key={a.label}>
                <ActionButton
                  label={a.label}
                  danger={a.danger}
                  action={() => a.run(row)}
                  onDone={() => setReload(reload + 1)}
                  onError={setError}
                />
              </Can>
            ))}
        </div>
      ),
    });
  }
  const opened = items?.find((r) => String(r.id) === open);
  return (
    <section>
      {props.sub ? <h2>{props.title}</h2> : <h1>{props.title}</h1>}
      {props.intro}
      <ErrorBox error={loadError ?? error} />
      {!loadError && <Table rows={items} columns={columns} />}
      {opened && props.detail && <div class="card detail">{props.detail(opened)}</div>}
    </section>
  );
}

function Deliveries(props: { endpoint: string }) {
  const [reload, setReload] = useState(0);
  const [error, setError] = useState<unknown>();
  const { data } = useGet<{ items: Row[] }>(
    `/webhook-endpoints/${props.endpoint}/deliveries`,
    reload,
  );
  return (
    <>
      <h2>Deliveries</h2>
      <ErrorBox error={error} />
      <Table
        rows={data?.items}
        empty="No deliveries yet."
        columns={[
          { title: 'event', value: (d) => cell(d.event_type) },
          { title: 'status', value: (d) => cell(d.status) },
          { title: 'attempts', value: (d) => cell(d.attempts) },
          { title: 'last', value: (d) => cell(d.last_status ?? d.last_error) },
          {
            title: '',
            value: (d) => (
              <Can role="operator">
                <ActionButton
                  label="Replay"
                  action={() => api('POST', `/webhook-deliveries/${String(d.id)}/replay`)}
                  onDone={() => setReload(reload + 1)}
                  onError={setError}
                />
              </Can>
            ),
          },
        ]}
      />
    </>
  );
}

function Registrations(props: { user: string }) {
  const { data, error } = useGet<Row>(`/sip-users/${props.user}/registrations`);
  return (
    <>
      <h2>Registrations</h2>
      <ErrorBox error={error} />
      <pre>{data ? JSON.stringify(data, null, 2) : 'Loading…'}</pre>
    </>
  );
}

/** A trunk's registration with its provider (GET /api/trunks/:id/status), when it registers. */
function TrunkRegistration(props: { trunk: Row }) {
  const { data, error } = useGet<{ registration?: Row }>(
    props.trunk.register ? `/trunks/${String(props.trunk.id)}/status` : null,
  );
  if (!props.trunk.register) return <>not registering</>;
  if (error) return <>{error.message}</>;
  const r = data?.registration;
  if (!r) return <>…</>;
  return (
    <span class={`pill ${r.state === 'registered' ? 'pass' : 'warn'}`}>
      {String(r.state)}
      {r.last_code ? ` (${String(r.last_code)})` : ''}
    </span>
  );
}

function TrunkStatus(props: { trunk: string }) {
  const { data, error } = useGet<Row>(`/trunks/${props.trunk}/status`);
  return (
    <>
      <h2>Sync and registration</h2>
      <ErrorBox error={error} />
      <pre>{data ? JSON.stringify(data, null, 2) : 'Loading…'}</pre>
    </>
  );
}

export const Trunks = () => (
  <ResourceList
    title="Trunks"
    path="/trunks"
    fields={[
      'trunk_id',
      'name',
      'provider',
      'status',
      'numbers',
      'register',
      'sync.state',
      'sync.last_drift',
    ]}
    detail={(t) => <TrunkStatus trunk={String(t.id)} />}
    extra={[{ title: 'registration', value: (t) => <TrunkRegistration trunk={t} /> }]}
    actions={[
      {
        label: 'Activate',
        role: 'operator',
        when: (t) => t.status !== 'active',
        run: (t) => api('POST', `/trunks/${String(t.id)}/activate`),
      },
      {
        label: 'Deactivate',
        role: 'operator',
        when: (t) => t.status === 'active',
        run: (t) => api('POST', `/trunks/${String(t.id)}/deactivate`),
      },
    ]}
  />
);
export const Numbers = () => (
  <ResourceList
    title="Numbers"
    path="/numbers"
    fields={[
      'number',
      'trunk_id',
      'agent_profile_id',
      'label',
      'max_concurrent_calls',
      'queue_priority',
    ]}
    actions={[
      {
        label: 'Delete',
        role: 'admin',
        danger: true,
        run: (n) => api('DELETE', `/numbers/${String(n.id)}`),
      },
    ]}
  />
);
export const Rules = () => (
  <ResourceList
    title="Dispatch rules"
    path="/dispatch-rules"
    fields={['name', 'type', 'trunk_ids', 'numbers', 'room_prefix', 'agent_profile_id', 'enabled']}
    actions={[
      {
        label: 'Delete',
        role: 'admin',
        danger: true,
        run: (r) => api('DELETE', `/dispatch-rules/${String(r.id)}`),
      },
    ]}
  />
);
export const SipUsers = () => (
  <>
    <ResourceList
      title="SIP users"
      path="/sip-users"
      fields={[
        'username',
        'display_name',
        'is_active',
        'is_blocked',
        'failed_auth_attempts',
        'account_locked_until',
        'last_registration',
        'registration_expires',
      ]}
      detail={(u) => <Registrations user={String(u.id)} />}
      actions={[
        {
          label: 'Unlock',
          role: 'admin',
          run: (u) => api('POST', `/sip-users/${String(u.id)}/unlock`),
        },
      ]}
    />
    <ResourceList
      sub
      title="Lockouts at the SIP edge"
      path="/edge/lockouts"
      fields={['sip_user', 'source', 'locked_at', 'expires_at']}
      actions={[
        {
          label: 'Unlock',
          role: 'operator',
          run: (l) =>
            api('POST', `/edge/lockouts/${encodeURIComponent(String(l.sip_user))}/unlock`),
        },
      ]}
    />
  </>
);
export const Blocklist = () => (
  <ResourceList
    title="Blocklist"
    path="/numbers/blocked"
    fields={['kind', 'number', 'prefix', 'reason', 'effective_sip_status', 'expires_at', 'hits']}
    actions={[
      {
        label: 'Unblock',
        role: 'admin',
        danger: true,
        run: (b) =>
          api(
            'DELETE',
            `/numbers/block/${encodeURIComponent(String(b.number ?? b.prefix))}?kind=${String(b.kind)}`,
          ),
      },
    ]}
  />
);
export const Webhooks = () => (
  <ResourceList
    title="Webhook endpoints"
    path="/webhook-endpoints"
    fields={['url', 'event_types', 'enabled', 'disabled_reason', 'failing_since']}
    detail={(e) => <Deliveries endpoint={String(e.id)} />}
  />
);
export const Keys = () => (
  <ResourceList
    title="API keys"
    path="/keys"
    fields={['name', 'role', 'prefix', 'created_at', 'last_used_at', 'revoked_at']}
    actions={[
      {
        label: 'Revoke',
        role: 'admin',
        danger: true,
        run: (k) => api('DELETE', `/keys/${String(k.id)}`),
      },
    ]}
  />
);
export const Audit = () => (
  <ResourceList
    title="Audit log"
    path="/audit?per_page=100"
    fields={['at', 'actor', 'action', 'entity_type', 'entity_id']}
  />
);
