import { audit, type Actor } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { GatewayError } from '../errors/index.js';
import { deleteHtableKey as deleteKey, dumpHtable } from './edge-state.js';
import { EdgeRpcError, type EdgeRpc } from './rpc.js';

export interface Lockout {
  sip_user: string;
  /** The address the failures came from: a lock holds for this user from there only. */
  source: string;
  locked_at: string;
  expires_at: string;
}

/** The edge keys digest failures and locks "<user>|<source address>". */
function splitLockKey(key: string): { user: string; source: string } {
  const at = key.lastIndexOf('|');
  return at < 0 ? { user: key, source: '' } : { user: key.slice(0, at), source: key.slice(at + 1) };
}

/** A failing edge becomes a 503 that names it; anything else passes through. */
async function atEdge<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EdgeRpcError)
      throw new GatewayError('edge_unavailable', error.message, {}, { cause: error });
    throw error;
  }
}

/** SIP users locked after repeated digest failures. */
export async function listLockouts(rpc: EdgeRpc, lockSeconds: number): Promise<Lockout[]> {
  const locks = await atEdge(() => dumpHtable(rpc, 'authlock'));
  return [...locks].map(([key, at]) => ({
    sip_user: splitLockKey(key).user,
    source: splitLockKey(key).source,
    locked_at: new Date(Number(at) * 1000).toISOString(),
    expires_at: new Date((Number(at) + lockSeconds) * 1000).toISOString(),
  }));
}

export async function listBans(rpc: EdgeRpc, banSeconds: number) {
  const bans = await atEdge(() => dumpHtable(rpc, 'ipban'));
  return [...bans].map(([source, at]) => ({
    source,
    banned_at: new Date(Number(at) * 1000).toISOString(),
    expires_at: new Date((Number(at) + banSeconds) * 1000).toISOString(),
  }));
}

/**
 * Lifts the lock (and the failure count) of these SIP users, with an audit entry. Returns the
 * users that were locked.
 */
export async function unlockUsers(
  deps: { db: Db; rpc: EdgeRpc },
  actor: Actor,
  users: string[],
  entity: { type: string; id: string | null },
): Promise<string[]> {
  const wanted = new Set(users);
  const locks = await atEdge(() => dumpHtable(deps.rpc, 'authlock'));
  const fails = await atEdge(() => dumpHtable(deps.rpc, 'authfail'));
  const ofUsers = (keys: Iterable<string>) =>
    [...keys].filter((k) => wanted.has(splitLockKey(k).user));
  const unlocked = users.filter((u) => [...locks.keys()].some((k) => splitLockKey(k).user === u));
  await atEdge(async () => {
    for (const key of ofUsers(locks.keys())) await deleteKey(deps.rpc, 'authlock', key);
    for (const key of ofUsers(fails.keys())) await deleteKey(deps.rpc, 'authfail', key);
  });
  await audit(deps.db, actor, {
    action: 'edge.unlock',
    entityType: entity.type,
    entityId: entity.id,
    details: { sip_users: users, were_locked: unlocked },
  });
  return unlocked;
}
