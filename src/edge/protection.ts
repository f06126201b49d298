import { audit, type Actor } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { ApiError } from '../http/errors.js';
import { deleteHtableKey as deleteKey, dumpHtable } from './edge-state.js';
import { EdgeRpcError, type EdgeRpc } from './rpc.js';

export interface Lockout {
  sip_user: string;
  locked_at: string;
  expires_at: string;
}

/** A failing edge becomes a 503 that names it; anything else passes through. */
async function atEdge<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EdgeRpcError) throw new ApiError(503, 'edge_unavailable', error.message);
    throw error;
  }
}

/** SIP users locked after repeated digest failures. */
export async function listLockouts(rpc: EdgeRpc, lockSeconds: number): Promise<Lockout[]> {
  const locks = await atEdge(() => dumpHtable(rpc, 'authlock'));
  return [...locks].map(([user, at]) => ({
    sip_user: user,
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
  const locks = await atEdge(() => dumpHtable(deps.rpc, 'authlock'));
  const unlocked = users.filter((u) => locks.has(u));
  await atEdge(async () => {
    for (const user of users) {
      await deleteKey(deps.rpc, 'authlock', user);
      await deleteKey(deps.rpc, 'authfail', user);
    }
  });
  await audit(deps.db, actor, {
    action: 'edge.unlock',
    entityType: entity.type,
    entityId: entity.id,
    details: { sip_users: users, were_locked: unlocked },
  });
  return unlocked;
}
