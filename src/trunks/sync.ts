import type { Prisma, PrismaClient, SecretBox } from '../db/index.js';
import { LivekitError, type GatewaySipClient } from '../livekit/index.js';
import { applyInbound, applyOutbound, applyRule } from './livekit-apply.js';
import { desiredInbound, desiredOutbound, desiredRule } from './livekit-objects.js';

export type Tx = Prisma.TransactionClient;

export interface SyncDeps {
  prisma: PrismaClient;
  sip: GatewaySipClient;
  box: SecretBox;
}

/** Key of the advisory lock every LiveKit write takes, so API processes and reconciles take turns. */
const SYNC_LOCK_KEY = 0x56474c4b; // "VGLK"

/**
 * Runs `work` in one database transaction holding the sync lock: the rows it writes and the
 * LiveKit calls it makes are serialised with every other process's. If `work` throws, nothing it
 * wrote to the database stays, and a LiveKit failure says so (`stored: false`).
 */
export async function withSyncLock<T>(
  prisma: PrismaClient,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    return await prisma.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${SYNC_LOCK_KEY})`);
        return work(tx);
      },
      { maxWait: 30_000, timeout: 300_000 },
    );
  } catch (error) {
    if (error instanceof LivekitError) error.stored = false;
    throw error;
  }
}

export type SyncOutcome = { state: 'in_sync' } | { state: 'pending'; error: LivekitError };

export const trunkWithNumbers = { phoneNumbers: { select: { number: true } } } as const;
export const ruleWithTrunks = { trunks: { include: { trunk: true } } } as const;

/**
 * Writes one trunk's desired state to LiveKit and records the outcome. LiveKit unavailable: the
 * row stays pending with the reason, for the next reconcile. LiveKit rejecting: throws, so the
 * caller's transaction rolls back and nothing is stored.
 */
export async function syncTrunk(tx: Tx, deps: SyncDeps, trunkId: string): Promise<SyncOutcome> {
  const trunk = await tx.trunk.findUniqueOrThrow({
    where: { id: trunkId },
    include: trunkWithNumbers,
  });
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
    await tx.trunk.update({
      where: { id: trunk.id },
      data: {
        livekitInboundId: inboundId,
        livekitOutboundId: outboundId,
        syncState: 'in_sync',
        syncError: null,
        lastSyncedAt: new Date(),
      },
    });
    if (inboundId !== trunk.livekitInboundId) await syncRulesOfTrunk(tx, deps, trunk.id);
    return { state: 'in_sync' };
  } catch (error) {
    if (!(error instanceof LivekitError)) throw error;
    if (error.kind !== 'unavailable') {
      for (const id of createdHere) await deps.sip.deleteSipTrunk(id).catch(() => undefined);
      throw error;
    }
    await tx.trunk.update({
      where: { id: trunk.id },
      data: { syncState: 'pending', syncError: error.message },
    });
    return { state: 'pending', error };
  }
}

export async function syncRule(tx: Tx, deps: SyncDeps, ruleId: string): Promise<SyncOutcome> {
  const rule = await tx.dispatchRule.findUniqueOrThrow({
    where: { id: ruleId },
    include: ruleWithTrunks,
  });
  const desired = desiredRule(rule);
  try {
    const livekitId = await applyRule(deps.sip, rule.livekitId, desired);
    const inactive = rule.enabled && !desired;
    await tx.dispatchRule.update({
      where: { id: rule.id },
      data: {
        livekitId,
        syncState: inactive ? 'error' : 'in_sync',
        syncError: inactive
          ? 'none of its trunks is active for inbound calls in LiveKit; the rule is held back'
          : null,
        lastSyncedAt: new Date(),
      },
    });
    return { state: 'in_sync' };
  } catch (error) {
    if (!(error instanceof LivekitError) || error.kind !== 'unavailable') throw error;
    await tx.dispatchRule.update({
      where: { id: rule.id },
      data: { syncState: 'pending', syncError: error.message },
    });
    return { state: 'pending', error };
  }
}

/** Rules name LiveKit trunk ids, so when a trunk's id changes or it leaves LiveKit they follow. */
export async function syncRulesOfTrunk(tx: Tx, deps: SyncDeps, trunkId: string): Promise<void> {
  const links = await tx.dispatchRuleTrunk.findMany({
    where: { trunkId },
    select: { ruleId: true },
  });
  for (const { ruleId } of links) await syncRule(tx, deps, ruleId);
}
