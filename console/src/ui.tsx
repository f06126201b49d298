import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { allows, ApiFailure, get, type Role } from './api';

export interface Session {
  name: string;
  role: Role;
}
export const SessionContext = createContext<Session>({ name: '', role: 'viewer' });

/** Shows its children only when the signed-in key's role may use them. */
export function Can(props: { role: Role; children: ComponentChildren }) {
  const session = useContext(SessionContext);
  return allows(session.role, props.role) ? <>{props.children}</> : null;
}

export function useCan(role: Role): boolean {
  return allows(useContext(SessionContext).role, role);
}

/** GET `path` once (and again when `reload` changes). */
export function useGet<T>(path: string | null, reload: unknown = 0) {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<Error | undefined>();
  useEffect(() => {
    if (!path) return;
    let live = true;
    setError(undefined);
    get<T>(path).then(
      (d) => live && setData(d),
      (e: Error) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [path, reload]);
  return { data, error };
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  const e = props.error;
  const message = e instanceof Error ? e.message : String(e);
  return (
    <div class="error" role="alert">
      <p>{message}</p>
      {e instanceof ApiFailure && e.fields.length > 0 && (
        <ul>
          {e.fields.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export interface Column<T> {
  title: string;
  value: (row: T) => ComponentChildren;
}

export function Table<T>(props: { rows: T[] | undefined; columns: Column<T>[]; empty?: string }) {
  if (!props.rows) return <p class="muted loading">Loading…</p>;
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? 'Nothing here yet.'}</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.title}>{c.title}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, i) => (
            <tr key={i}>
              {props.columns.map((c) => (
                <td key={c.title} data-label={c.title}>
                  {c.value(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A button that runs `action`, shows it is busy, and reports the API's refusal. */
export function ActionButton(props: {
  label: string;
  action: () => Promise<unknown>;
  onDone?: () => void;
  onError?: (e: unknown) => void;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class={props.danger ? 'danger' : undefined}
      disabled={busy}
      onClick={() => {
        setBusy(true);
        props
          .action()
          .then(() => props.onDone?.(), props.onError)
          .finally(() => setBusy(false));
      }}
    >
      {props.label}
    </button>
  );
}

export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { hour12: false }) : '—';

export function seconds(total: number): string {
  const s = Math.max(0, Math.round(total));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

export const navigate = (hash: string) => {
  location.hash = hash;
};
