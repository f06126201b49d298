import type { TestGateway } from './gateway.js';
import { eventually } from './wait.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
type CallBody = any;

/**
 * The call record of `caller` once it has ended and the agent's report is in (at least
 * `transcriptLines` lines, and `complete` holds if given): LiveKit's webhook closes the record,
 * the agent's last report follows (an earlier live report may already have some lines).
 */
export async function endedCallRecord(
  gw: TestGateway,
  caller: string,
  transcriptLines = 1,
  timeoutMs = 20_000,
  complete: (record: CallBody) => boolean = () => true,
): Promise<CallBody> {
  return eventually(async () => {
    const list = await gw.request('GET', '/api/calls?limit=20');
    const call = (list.body.items as { id: string; from_number: string; status: string }[]).find(
      (c) => c.from_number === caller && (c.status === 'ended' || c.status === 'failed'),
    );
    if (!call) return undefined;
    const full = (await gw.request('GET', `/api/calls/${call.id}`)).body;
    return full.transcript.length >= transcriptLines && complete(full) ? full : undefined;
  }, timeoutMs);
}
