import { EdgeRpcError, type EdgeRpc } from './rpc.js';

// uac's registration flags (src/modules/uac/uac_reg.c).
const DISABLED = 1;
const ONLINE = 4;

/** One row of uac.reg_dump. */
export interface UacRecord {
  l_uuid: string;
  l_username: string;
  r_username: string;
  r_domain: string;
  realm: string;
  auth_username: string;
  auth_password: string;
  auth_proxy: string;
  expires: number;
  flags: number;
  diff_expires: number;
  reg_init: number;
}

/** The last answer a registrar gave to one of our REGISTERs (kept by the edge per To URI). */
export interface LastReply {
  code: number;
  reason: string;
  at: number;
}

export type LiveState = 'registered' | 'registering' | 'failed';

export function liveState(record: UacRecord): LiveState {
  if (record.flags & ONLINE && record.diff_expires > 0) return 'registered';
  if (record.flags & DISABLED) return 'failed';
  // ONGOING (a REGISTER in flight) or not yet sent.
  return 'registering';
}

interface HtableEntry {
  slot?: { name: string; value: string | number }[];
}

/** `htable.dump` as name -> value. */
export async function dumpHtable(
  rpc: EdgeRpc,
  table: string,
): Promise<Map<string, string | number>> {
  const entries = await rpc.call<HtableEntry[]>('htable.dump', [table]);
  const out = new Map<string, string | number>();
  for (const entry of entries ?? []) for (const s of entry.slot ?? []) out.set(s.name, s.value);
  return out;
}

/** htable.delete, where a key that is not there (expired, never set) is not an error. */
export async function deleteHtableKey(rpc: EdgeRpc, table: string, key: string): Promise<void> {
  try {
    await rpc.call('htable.delete', [table, key]);
  } catch (error) {
    if (!(error instanceof EdgeRpcError) || error.retryable || !/not found/i.test(error.message))
      throw error;
  }
}

/** The last REGISTER reply per To URI (`sip:user@registrar`). */
export async function lastReplies(rpc: EdgeRpc): Promise<Map<string, LastReply>> {
  const raw = await dumpHtable(rpc, 'regstat');
  const out = new Map<string, LastReply>();
  for (const [name, value] of raw) {
    const m = /^(.*)::code$/.exec(name);
    if (!m) continue;
    const uri = m[1]!;
    out.set(uri, {
      code: Number(value),
      reason: String(raw.get(`${uri}::reason`) ?? ''),
      at: Number(raw.get(`${uri}::at`) ?? 0),
    });
  }
  return out;
}

export async function dumpRegistrations(rpc: EdgeRpc): Promise<UacRecord[]> {
  return (await rpc.call<UacRecord[]>('uac.reg_dump')) ?? [];
}
