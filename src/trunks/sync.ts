import { sql, type Db, type Tx } from '../db/index.js';
import { LivekitError } from '../livekit/index.js';
import type { SyncDeps } from './deps.js';
import { applyInbound, applyOutbound, applyRule } from './livekit-apply.js';
import { desiredInbound, desiredOutbound, desiredRule } from './livekit-objects.js';
import { getRule, type TrunkWithNumbers } from './store.js';

/** Key of the advisory lock every LiveKit write takes, so API processes and reconciles take turns. */
const SYNC_LOCK_KEY = 0x56474c4b; // "VGLK"

/**
 * Runs `work` in one database transaction holding the sync lock: the rows it writes and the
 * LiveKit calls it makes are serialised with every other process's. If `work` throws, nothing it
 * wrote to the database stays, and a LiveKit failure says so (`stored: false`).
 */
export async function withSyncLock<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${sql.lit(SYNC_LOCK_KEY)})`.execute(tx);
      return work(tx);
    });
  } catch (error) {
    if (error instanceof LivekitError) error.stored = false;
    throw error;
  }
}

export type SyncOutcome = { state: 'in_sync' } | { state: 'pending'; error: LivekitError };

/**
 * Writes one trunk's desired state to LiveKit and records the outcome on the row (which the
 * caller has loaded in this transaction). LiveKit unavailable: the row stays pending with the
 * reason, for the next reconcile. LiveKit rejecting: throws, so the caller's transaction rolls
 * back and nothing is stored.
 */
export async function syncTrunk(
  tx: Tx,
  deps: SyncDeps,
  trunk: TrunkWithNumbers,
): Promise<SyncOutcome> {
  const createdHere: string[] = [];
  try {
    const inboundId = await applyInbound(
      deps.sip,
      trunk.livekitInboundId,
      desiredInbound(trunk, deps.box),
    );
    if (inboundId && inboundId !== trunk.livekitInboundId) createdHere.push(inboundId);
    const outboundId = await applyOutbound(
      deps.sip,
      trunk.livekitOutboundId,
      desiredOutbound(trunk, deps.box),
    );
    const previousInbound = trunk.livekitInboundId;
    Object.assign(trunk, {
      livekitInboundId: inboundId,
      livekitOutboundId: outboundId,
      syncState: 'in_sync',
      syncError: null,
      lastSyncedAt: new Date(),
    });
    await tx
      .updateTable('trunks')
      .set({
        livekitInboundId: trunk.livekitInboundId,
        livekitOutboundId: trunk.livekitOutboundId,
        syncState: trunk.syncState,
        syncError: null,
        lastSyncedAt: trunk.lastSyncedAt,
      })
      .where('id', '=', trunk.id)
      .execute();
    if (inboundId !== previousInbound) await syncRulesOfTrunk(tx, deps, trunk.id);
    return { state: 'in_sync' };
  } catch (error) {
    if (!(error instanceof LivekitError)) throw error;
    if (error.kind !== 'unavailable') {
      for (const id of createdHere) await deps.sip.deleteSipTrunk(id).catch(() => undefined);
      throw error;
    }
    Object.assign(trunk, { syncState: 'pending', syncError: error.message });
    await tx
      .updateTable('trunks')
      .set({ syncState: 'pending', syncError: error.message })
      .where('id', '=', trunk.id)
      .execute();
    return { state: 'pending', error };
  }
}

export async function syncRule(tx: Tx, deps: SyncDeps, ruleId: string): Promise<SyncOutcome> {
  const rule = await getRule(tx, ruleId);
  const desired = desiredRule(rule);
  try {
    const livekitId = await applyRule(deps.sip, rule.livekitId, desired);
    const heldBack = rule.enabled && !desired;
    await tx
      .updateTable('dispatchRules')
      .set({
        livekitId,
        syncState: heldBack ? 'error' : 'in_sync',
        syncError: heldBack
          ? 'none of its trunks is active for inbound calls in LiveKit; the rule is held back'
          : null,
        lastSyncedAt: new Date(),
      })
      .where('id', '=', rule.id)
      .execute();
    return { state: 'in_sync' };
  } catch (error) {
    if (!(error instanceof LivekitError) || error.kind !== 'unavailable') throw error;
    await tx
      .updateTable('dispatchRules')
      .set({ syncState: 'pending', syncError: error.message })
      .where('id', '=', rule.id)
      .execute();
    return { state: 'pending', error };
  }
}

/** Rules name LiveKit trunk ids, so when a trunk's id changes or it leaves LiveKit they follow. */
export async function syncRulesOfTrunk(tx: Tx, deps: SyncDeps, trunkId: string): Promise<void> {
  const links = await tx
    .selectFrom('dispatchRuleTrunks')
    .select('ruleId')
    .where('trunkId', '=', trunkId)
    .execute();
  for (const { ruleId } of links) await syncRule(tx, deps, ruleId);
}
