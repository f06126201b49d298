import { useState } from 'preact/hooks';
import { get } from '../api';
import { ErrorBox } from '../ui';

interface Finding {
  check?: string;
  area?: string;
  status: string;
  title?: string;
  message?: string;
  cause?: string;
  evidence?: unknown;
  fix?: string;
}
interface Answer {
  area: string;
  status: string;
  findings: Finding[];
  simulation?: unknown;
}

function Findings(props: { answer: Answer }) {
  return (
    <div class="findings" data-status={props.answer.status}>
      <p>
        Overall: <span class={`pill ${props.answer.status}`}>{props.answer.status}</span> (
        {props.answer.findings.length} findings)
      </p>
      {props.answer.findings.map((f, i) => (
        <article key={i} class={`card finding ${f.status}`}>
          <header>
            <span class={`pill ${f.status}`}>{f.status}</span> <b>{f.title ?? f.check ?? f.area}</b>
          </header>
          {f.message && <p>{f.message}</p>}
          {f.cause && (
            <p>
              <b>Cause:</b> {f.cause}
            </p>
          )}
          {f.evidence !== undefined && (
            <p>
              <b>Evidence:</b>{' '}
              <code>
                {typeof f.evidence === 'string' ? f.evidence : JSON.stringify(f.evidence)}
              </code>
            </p>
          )}
          {f.fix && (
            <p>
              <b>Fix:</b> {f.fix}
            </p>
          )}
        </article>
      ))}
      {props.answer.simulation !== undefined && (
        <pre>{JSON.stringify(props.answer.simulation, null, 2)}</pre>
      )}
    </div>
  );
}

/** Diagnose (GET /api/diagnostics) and the call simulator (GET /api/diagnostics/calls?...). */
export function Diagnostics() {
  const [answer, setAnswer] = useState<Answer | undefined>();
  const [sim, setSim] = useState<Answer | undefined>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [form, setForm] = useState({ caller: '', called: '', source_ip: '' });
  const run = (path: string, done: (a: Answer) => void) => {
    setBusy(true);
    setError(undefined);
    get<Answer>(path)
      .then(done, setError)
      .finally(() => setBusy(false));
  };
  return (
    <section>
      <h1>Diagnostics</h1>
      <button
        type="button"
        id="run-diagnose"
        disabled={busy}
        onClick={() => run('/diagnostics', setAnswer)}
      >
        Run diagnose
      </button>
      <ErrorBox error={error} />
      {answer && <Findings answer={answer} />}
      <h2>Call simulator</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          run(`/diagnostics/calls?${new URLSearchParams(form)}`, setSim);
        }}
      >
        <p>What happens when</p>
        {(['caller', 'called', 'source_ip'] as const).map((k) => (
          <label key={k}>
            {k === 'caller' ? 'caller' : k === 'called' ? 'calls' : 'from address'}
            <input
              name={k}
              required
              value={form[k]}
              placeholder={k === 'source_ip' ? '1.2.3.4' : '+7…'}
              onInput={(e) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })}
            />
          </label>
        ))}
        <button type="submit" disabled={busy}>
          Simulate
        </button>
      </form>
      {sim && <Findings answer={sim} />}
    </section>
  );
}
