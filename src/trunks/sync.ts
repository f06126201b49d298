import { auditRow, type Actor, type AuditEntry } from '../audit/index.js';
import { sql, type Db, type Tx } from '../db/index.js';
import { LivekitError } from '../livekit/index.js';
import { publish } from '../webhooks/outbound/index.js';
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
    return await db.connection().execute(async (tx) => {
      // One round trip: a query without parameters goes as a simple query, which may hold two.
      await sql`BEGIN; SELECT pg_advisory_xact_lock(${sql.lit(SYNC_LOCK_KEY)})`.execute(tx);
      try {
        const result = await work(tx);
        await sql`COMMIT`.execute(tx);
        return result;
      } catch (error) {
        await sql`ROLLBACK`.execute(tx).catch(() => undefined);
        throw error;
      }
    });
  } catch (error) {
    if (error instanceof LivekitError) error.stored = false;
    throw error;
  }
}

export type SyncOutcome = { state: 'in_sync' } | { state: 'pending'; error: LivekitError };

export interface SyncTrunkOptions {
  /** Written in the same statement as the outcome. */
  audit?: { actor: Actor; entry: (trunk: TrunkWithNumbers) => AuditEntry };
  /** A trunk created in this transaction: no dispatch rule can name it yet. */
  isNew?: boolean;
}

type SyncColumns = Partial<
  Pick<
    TrunkWithNumbers,
    'livekitInboundId' | 'livekitOutboundId' | 'syncState' | 'syncError' | 'lastSyncedAt'
  >
>;

/** Updates the trunk's sync columns and, in the same statement, appends the audit entry. */
async function recordOutcome(
  tx: Tx,
  trunk: TrunkWithNumbers,
  columns: SyncColumns,
  options: SyncTrunkOptions,
): Promise<void> {
  Object.assign(trunk, columns);
  const update = tx.updateTable('trunks').set(columns).where('id', '=', trunk.id);
  if (!options.audit) {
    await update.execute();
    return;
  }
  await tx
    .with('updated', () => update.returning('id'))
    .insertInto('auditLog')
    .values(auditRow(options.audit.actor, options.audit.entry(trunk)))
    .execute();
}

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
  options: SyncTrunkOptions = {},
): Promise<SyncOutcome> {
  const createdHere: string[] = [];
  try {
    const inboundId = await applyInbound(
      deps.sip,
      trunk.livekitInboundId,
      desiredInbound(deps.installation, trunk, deps.box, deps.edgeSourceAddress),
    );
    if (inboundId && inboundId !== trunk.livekitInboundId) createdHere.push(inboundId);
    const outboundId = await applyOutbound(
      deps.sip,
      trunk.livekitOutboundId,
      desiredOutbound(deps.installation, trunk, deps.box),
    );
    const previousInbound = trunk.livekitInboundId;
    await recordOutcome(
      tx,
      trunk,
      {
        livekitInboundId: inboundId,
        livekitOutboundId: outboundId,
        syncState: 'in_sync',
        syncError: null,
        lastSyncedAt: new Date(),
      },
      options,
    );
    if (inboundId !== previousInbound && !options.isNew) await syncRulesOfTrunk(tx, deps, trunk.id);
    return { state: 'in_sync' };
  } catch (error) {
    if (!(error instanceof LivekitError)) throw error;
    if (error.kind !== 'unavailable') {
      for (const id of createdHere) await deps.sip.deleteSipTrunk(id).catch(() => undefined);
      throw error;
    }
    await recordOutcome(tx, trunk, { syncState: 'pending', syncError: error.message }, options);
    await publish(tx, 'trunk.sync_failed', {
      trunk_id: trunk.trunkId,
      id: trunk.id,
      error: error.message,
    });
    return { state: 'pending', error };
  }
}

export async function syncRule(tx: Tx, deps: SyncDeps, ruleId: string): Promise<SyncOutcome> {
  const rule = await getRule(tx, ruleId);
  const desired = desiredRule(deps.installation, rule);
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
