// The console's one way to the API: the key from sessionStorage in the Authorization header.

const KEY = 'vg-console-key';

export type Role = 'admin' | 'operator' | 'viewer';
const ORDER: Role[] = ['admin', 'operator', 'viewer'];

/** Whether `role` may do what `needed` may (admin > operator > viewer), as the API decides. */
export const allows = (role: Role, needed: Role) => ORDER.indexOf(role) <= ORDER.indexOf(needed);

export const storedKey = () => sessionStorage.getItem(KEY);
export const storeKey = (key: string) => sessionStorage.setItem(KEY, key);
export const forgetKey = () => sessionStorage.removeItem(KEY);

export interface FieldProblem {
  field: string;
  message: string;
}

/** What the API answered when it refused: its message and the fields it named. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[],
  ) {
    super(message);
  }
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = { authorization: `Bearer ${storedKey() ?? ''}` };
  if (json) h['content-type'] = 'application/json';
  return h;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api${path}`, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    throw new ApiFailure(
      response.status,
      String(parsed.error ?? response.status),
      String(parsed.message ?? response.statusText),
      (parsed.fields as FieldProblem[] | undefined) ?? [],
    );
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);

/** A recording (or any file) fetched with the key, as a blob: URL an <audio> can play. */
export async function blobUrl(path: string): Promise<string> {
  const response = await fetch(`/api${path}`, { headers: headers(false) });
  if (!response.ok)
    throw new ApiFailure(response.status, 'download_failed', response.statusText, []);
  return URL.createObjectURL(await response.blob());
}

/**
 * GET /api/events, read with fetch (EventSource cannot send the key): calls `onEvent` for each
 * event until `signal` aborts; reconnects after a dropped stream, at most every 3 s.
 */
export async function streamEvents(
  onEvent: (type: string, data: unknown) => void,
  signal: AbortSignal,
  onState: (connected: boolean) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch('/api/events', { headers: headers(false), signal });
      // The key is gone (revoked, or never was): no retrying with it.
      if (response.status === 401 || response.status === 403) {
        onState(false);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
      onState(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length) onEvent(type, JSON.parse(data.join('\n')));
        }
      }
    } catch {
      // dropped or refused: wait and try again
    }
    onState(false);
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, 3000));
  }
}
