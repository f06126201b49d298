import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { forgetKey, get, storedKey, storeKey, type Role } from './api';
import { ErrorBox, SessionContext, useGet, type Session } from './ui';
import { AgentEditor, Agents } from './views/agents';
import { Charts } from './views/charts';
import { Diagnostics } from './views/diagnostics';
import { CallHistory, CallPage } from './views/history';
import { LiveCalls } from './views/live';
import {
  Audit,
  Blocklist,
  Keys,
  Numbers,
  Rules,
  SipUsers,
  Trunks,
  Webhooks,
} from './views/resources';
import './style.css';

/** The views, the role each needs (the API refuses the rest anyway), and their menu names. */
const VIEWS: { path: string; title: string; role: Role }[] = [
  { path: 'live', title: 'Live calls', role: 'viewer' },
  { path: 'calls', title: 'History', role: 'viewer' },
  { path: 'charts', title: 'Charts', role: 'viewer' },
  { path: 'trunks', title: 'Trunks', role: 'viewer' },
  { path: 'numbers', title: 'Numbers', role: 'viewer' },
  { path: 'rules', title: 'Rules', role: 'viewer' },
  { path: 'agents', title: 'Agents', role: 'viewer' },
  { path: 'sip-users', title: 'SIP users', role: 'viewer' },
  { path: 'blocklist', title: 'Blocklist', role: 'viewer' },
  { path: 'webhooks', title: 'Webhooks', role: 'viewer' },
  { path: 'keys', title: 'API keys', role: 'admin' },
  { path: 'audit', title: 'Audit log', role: 'admin' },
  { path: 'diagnostics', title: 'Diagnostics', role: 'operator' },
];
const RANK: Role[] = ['admin', 'operator', 'viewer'];

function useHash(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [parts, setParts] = useState(read());
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function SignIn(props: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  return (
    <main class="sign-in">
      <h1>Voice gateway console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          storeKey(key.trim());
          get<Session>('/me').then(props.onSignedIn, (err) => {
            forgetKey();
            setError(err);
          });
        }}
      >
        <label>
          API key
          <input
            name="key"
            type="password"
            autocomplete="off"
            required
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Sign in</button>
        <p class="muted">The key stays in this tab (sessionStorage) and goes only to this API.</p>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

function Shell(props: { session: Session; signOut: () => void }) {
  const [view = 'live', id] = useHash();
  const allowed = VIEWS.filter((v) => RANK.indexOf(props.session.role) <= RANK.indexOf(v.role));
  const profiles = useGet<{ items: { id: string; name: string }[] }>('/agents');
  const names = new Map((profiles.data?.items ?? []).map((p) => [p.id, p.name]));
  const trunkList = useGet<{ items: { id: string; trunk_id: string; name: string }[] }>('/trunks');
  const trunks = new Map(
    (trunkList.data?.items ?? []).map((t) => [t.id, `${t.name} (${t.trunk_id})`]),
  );
  const [menu, setMenu] = useState(false);
  let body;
  if (!allowed.some((v) => v.path === view))
    body = <p>This view is not open to a {props.session.role} key.</p>;
  else if (view === 'live') body = <LiveCalls profiles={names} trunks={trunks} />;
  else if (view === 'calls') body = id ? <CallPage id={id} /> : <CallHistory />;
  else if (view === 'charts') body = <Charts />;
  else if (view === 'trunks') body = <Trunks />;
  else if (view === 'numbers') body = <Numbers />;
  else if (view === 'rules') body = <Rules />;
  else if (view === 'agents') body = id ? <AgentEditor id={id} /> : <Agents />;
  else if (view === 'sip-users') body = <SipUsers />;
  else if (view === 'blocklist') body = <Blocklist />;
  else if (view === 'webhooks') body = <Webhooks />;
  else if (view === 'keys') body = <Keys />;
  else if (view === 'audit') body = <Audit />;
  else body = <Diagnostics />;
  return (
    <SessionContext.Provider value={props.session}>
      <header class="top">
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={menu}
          onClick={() => setMenu(!menu)}
        >
          Menu
        </button>
        <b>Voice gateway</b>
        <span class="who">
          {props.session.name} · <span id="role">{props.session.role}</span>
        </span>
        <button type="button" onClick={props.signOut}>
          Sign out
        </button>
      </header>
      <nav class={menu ? 'open' : ''} onClick={() => setMenu(false)}>
        {allowed.map((v) => (
          <a key={v.path} href={`#/${v.path}`} class={v.path === view ? 'current' : undefined}>
            {v.title}
          </a>
        ))}
      </nav>
      <main>{body}</main>
    </SessionContext.Provider>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(
    storedKey() ? undefined : null,
  );
  useEffect(() => {
    if (session !== undefined) return;
    get<Session>('/me').then(setSession, () => {
      forgetKey();
      setSession(null);
    });
  }, []);
  if (session === undefined) return <p class="muted">Signing in…</p>;
  if (!session) return <SignIn onSignedIn={setSession} />;
  return (
    <Shell
      session={session}
      signOut={() => {
        forgetKey();
        setSession(null);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
