import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure } from '../api';
import { Can, ErrorBox, Table, useCan, useGet, when } from '../ui';

interface Profile {
  id: string;
  name: string;
  settings: Record<string, unknown>;
  updated_at: string;
}

export function Agents() {
  const { data, error } = useGet<{ items: Profile[] }>('/agents');
  return (
    <section>
      <h1>Agent profiles</h1>
      <ErrorBox error={error} />
      <Can role="admin">
        <p>
          <a href="#/agents/new">New profile</a>
        </p>
      </Can>
      <Table
        rows={data?.items}
        columns={[
          { title: 'Name', value: (p) => <a href={`#/agents/${p.id}`}>{p.name}</a> },
          { title: 'Mode', value: (p) => String(p.settings.mode ?? '') },
          { title: 'Greeting', value: (p) => String(p.settings.greeting ?? '') },
          { title: 'Updated', value: (p) => when(p.updated_at) },
        ]}
      />
    </section>
  );
}

/**
 * One profile's settings as JSON, saved with PUT /api/agents/:id (POST for a new one). What
 * is wrong is what the API says: its message and each field it names, beside the form.
 */
export function AgentEditor(props: { id: string }) {
  const isNew = props.id === 'new';
  const { data, error } = useGet<Profile>(isNew ? null : `/agents/${props.id}`);
  const canEdit = useCan('admin');
  const [name, setName] = useState('');
  const [settings, setSettings] = useState('{\n  "mode": "offline"\n}');
  const [problem, setProblem] = useState<unknown>();
  const [saved, setSaved] = useState<string | undefined>();
  useEffect(() => {
    if (!data) return;
    setName(data.name);
    setSettings(JSON.stringify(data.settings, null, 2));
  }, [data]);
  const save = async (e: Event) => {
    e.preventDefault();
    setProblem(undefined);
    setSaved(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(settings);
    } catch (err) {
      setProblem(
        new ApiFailure(400, 'bad_json', `settings: not JSON (${(err as Error).message})`, []),
      );
      return;
    }
    try {
      const result = await api<Profile>(
        isNew ? 'POST' : 'PUT',
        isNew ? '/agents' : `/agents/${props.id}`,
        {
          name,
          settings: parsed,
        },
      );
      setSettings(JSON.stringify(result.settings, null, 2));
      setSaved(`Saved at ${when(result.updated_at)}`);
      if (isNew) location.hash = `#/agents/${result.id}`;
    } catch (err) {
      setProblem(err);
    }
  };
  if (error) return <ErrorBox error={error} />;
  return (
    <section>
      <h1>{isNew ? 'New agent profile' : `Agent profile ${data?.name ?? ''}`}</h1>
      <form class="editor" onSubmit={save}>
        <label>
          Name
          <input
            name="name"
            value={name}
            disabled={!canEdit}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Settings (JSON; every default filled in once saved)
          <textarea
            name="settings"
            rows={20}
            spellcheck={false}
            disabled={!canEdit}
            value={settings}
            onInput={(e) => setSettings((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        <ErrorBox error={problem} />
        {saved && <p class="ok">{saved}</p>}
        <Can role="admin">
          <button type="submit">Save</button>
        </Can>
      </form>
    </section>
  );
}
