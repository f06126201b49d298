import type {
  SIPDispatchRuleInfo,
  SIPInboundTrunkInfo,
  SIPOutboundTrunkInfo,
} from '@livekit/protocol';
import { Counter, Gauge } from 'prom-client';
import { audit, systemActor, type Actor } from '../audit/index.js';
import { metricsRegistry } from '../kernel/metrics.js';
import { every } from '../kernel/periodic.js';
import { livekitCall, LivekitError } from '../livekit/index.js';
import type { TrunksDeps } from './deps.js';
import {
  desiredInbound,
  desiredOutbound,
  desiredRule,
  inboundDiff,
  outboundDiff,
  ownershipOf,
  readMarker,
  ruleDiff,
  type ObjectKind,
} from './livekit-objects.js';
import type { Tx } from '../db/index.js';
import { selectRules, selectTrunks } from './store.js';
import { syncRule, syncTrunk, withSyncLock } from './sync.js';

export type ReconcileMode = 'repair' | 'report';

export interface DriftItem {
  object: 'trunk' | 'dispatch_rule';
  kind: ObjectKind;
  id: string | null;
  name: string;
  livekit_id: string | null;
  /** missing: deleted in LiveKit. changed: edited in LiveKit. orphan: in LiveKit, not wanted. */
  problem: 'missing' | 'changed' | 'orphan';
  fields?: string[];
  action: 'repaired' | 'reported' | 'failed';
  error?: string;
}

export interface ReconcileReport {
  mode: ReconcileMode;
  /** The installation whose objects this reconcile manages (GATEWAY_INSTALLATION_ID). */
  installation: string;
  started_at: string;
  finished_at: string;
  livekit_reachable: boolean;
  error?: string;
  checked: { trunks: number; dispatch_rules: number };
  /** Objects that had never reached LiveKit (pending) and were written now. */
  applied_pending: number;
  drift: DriftItem[];
  /**
   * LiveKit objects no row of ours claims that are not ours to delete, left alone: unmarked
   * (made by hand or another tool), other_installation (another gateway's marker), legacy (a
   * marker naming no installation, from a gateway before installation ids).
   */
  unmanaged: {
    kind: ObjectKind;
    livekit_id: string;
    name: string;
    owner: 'unmarked' | 'other_installation' | 'legacy';
  }[];
}

const driftCounter = new Counter({
  name: 'voice_gateway_reconcile_drift_total',
  help: 'Differences found between the database and LiveKit, by object kind and problem',
  labelNames: ['kind', 'problem'],
  registers: [metricsRegistry],
});
const lastRun = new Gauge({
  name: 'voice_gateway_reconcile_last_run_timestamp_seconds',
  help: 'When the last reconcile finished, and whether LiveKit was reachable (label)',
  labelNames: ['livekit_reachable'],
  registers: [metricsRegistry],
});

type Actual = SIPInboundTrunkInfo | SIPOutboundTrunkInfo | SIPDispatchRuleInfo;
const idOf = (o: Actual) => ('sipTrunkId' in o ? o.sipTrunkId : o.sipDispatchRuleId);

interface Inventory {
  byId: Map<string, { kind: ObjectKind; object: Actual }>;
  /** `${kind}:${our id}` -> LiveKit objects carrying that marker. */
  byMarker: Map<string, Actual[]>;
  claimed: Set<string>;
}

async function inventory(deps: TrunksDeps): Promise<Inventory> {
  const [inbound, outbound, rules] = await Promise.all([
    livekitCall(() => deps.sip.listSipInboundTrunk()),
    livekitCall(() => deps.sip.listSipOutboundTrunk()),
    livekitCall(() => deps.sip.listSipDispatchRule()),
  ]);
  const inv: Inventory = { byId: new Map(), byMarker: new Map(), claimed: new Set() };
  const add = (kind: ObjectKind, object: Actual) => {
    inv.byId.set(idOf(object), { kind, object });
    const m = readMarker(object.metadata);
    // Adopted by marker: our installation's, or a legacy one naming one of our rows (row ids are
    // UUIDs, so a legacy marker with our row's id was made for this database).
    const adoptable = ['ours', 'legacy'].includes(ownershipOf(object.metadata, deps.installation));
    if (m && m.kind === kind && adoptable) {
      const key = `${kind}:${m.id}`;
      inv.byMarker.set(key, [...(inv.byMarker.get(key) ?? []), object]);
    }
  };
  inbound.forEach((o) => add('inbound', o));
  outbound.forEach((o) => add('outbound', o));
  rules.forEach((o) => add('rule', o));
  return inv;
}

/** The LiveKit object holding our row's part: by the stored id, else adopted by marker. */
function locate(
  inv: Inventory,
  installation: string,
  kind: ObjectKind,
  rowId: string,
  storedId: string | null,
): Actual | undefined {
  const atStored = storedId ? inv.byId.get(storedId) : undefined;
  // Another installation's object is never ours, even at an id we stored (a copied database).
  const stored =
    atStored && ownershipOf(atStored.object.metadata, installation) !== 'foreign'
      ? atStored
      : undefined;
  const found = stored?.kind === kind ? stored.object : inv.byMarker.get(`${kind}:${rowId}`)?.[0];
  if (found) inv.claimed.add(idOf(found));
  return found;
}

function compare(
  kind: ObjectKind,
  actual: Actual | undefined,
  desired: Actual | null,
  storedId: string | null,
) {
  if (desired && !actual) return storedId ? { problem: 'missing' as const } : undefined;
  if (!desired && actual) return { problem: 'orphan' as const };
  if (desired && actual) {
    const fields =
      kind === 'inbound'
        ? inboundDiff(actual as SIPInboundTrunkInfo, desired as SIPInboundTrunkInfo)
        : kind === 'outbound'
          ? outboundDiff(actual as SIPOutboundTrunkInfo, desired as SIPOutboundTrunkInfo)
          : ruleDiff(actual as SIPDispatchRuleInfo, desired as SIPDispatchRuleInfo);
    if (fields.length > 0) return { problem: 'changed' as const, fields };
  }
  return undefined;
}

function describe(items: DriftItem[]): string {
  return items
    .map((d) => `${d.kind} ${d.problem}${d.fields ? ` (${d.fields.join(', ')})` : ''}`)
    .join('; ');
}

async function reconcileTrunks(
  tx: Tx,
  deps: TrunksDeps,
  inv: Inventory,
  mode: ReconcileMode,
  report: ReconcileReport,
) {
  const trunks = await selectTrunks(tx).execute();
  report.checked.trunks = trunks.length;
  for (const trunk of trunks) {
    const items: DriftItem[] = [];
    const parts = [
      {
        kind: 'inbound' as const,
        stored: trunk.livekitInboundId,
        desired: desiredInbound(deps.installation, trunk, deps.box, deps.edgeSourceAddress),
      },
      {
        kind: 'outbound' as const,
        stored: trunk.livekitOutboundId,
        desired: desiredOutbound(deps.installation, trunk, deps.box),
      },
    ];
    const located: Record<string, string | null> = {};
    for (const part of parts) {
      const actual = locate(inv, deps.installation, part.kind, trunk.id, part.stored);
      located[part.kind] = actual ? idOf(actual) : null;
      const found = compare(part.kind, actual, part.desired, part.stored);
      if (found) {
        items.push({
          object: 'trunk',
          kind: part.kind,
          id: trunk.id,
          name: trunk.trunkId,
          livekit_id: part.stored ?? located[part.kind] ?? null,
          action: 'reported',
          ...found,
        });
      }
    }
    const adopt =
      located.inbound !== trunk.livekitInboundId || located.outbound !== trunk.livekitOutboundId;
    const needsWrite = items.length > 0 || trunk.syncState !== 'in_sync' || adopt;
    if (items.length > 0) {
      await tx
        .updateTable('trunks')
        .set({
          lastDrift: describe(items),
          lastDriftAt: new Date(),
          ...(mode === 'report' ? { syncState: 'drift' as const } : {}),
        })
        .where('id', '=', trunk.id)
        .execute();
    }
    if (mode === 'repair' && needsWrite) {
      if (adopt) {
        trunk.livekitInboundId = located.inbound ?? trunk.livekitInboundId;
        trunk.livekitOutboundId = located.outbound ?? trunk.livekitOutboundId;
      }
      const pending = trunk.syncState === 'pending' && items.length === 0;
      try {
        const outcome = await syncTrunk(tx, deps, trunk);
        const ok = outcome.state === 'in_sync';
        items.forEach((d) => (d.action = ok ? 'repaired' : 'failed'));
        if (ok && pending) report.applied_pending += 1;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        items.forEach((d) => Object.assign(d, { action: 'failed', error: message }));
        await tx
          .updateTable('trunks')
          .set({ syncState: 'error', syncError: message })
          .where('id', '=', trunk.id)
          .execute();
      }
    }
    report.drift.push(...items);
  }
}

async function reconcileRules(
  tx: Tx,
  deps: TrunksDeps,
  inv: Inventory,
  mode: ReconcileMode,
  report: ReconcileReport,
) {
  const rules = await selectRules(tx);
  report.checked.dispatch_rules = rules.length;
  const startedAt = new Date(report.started_at);
  for (const rule of rules) {
    const actual = locate(inv, deps.installation, 'rule', rule.id, rule.livekitId);
    // Already rewritten in this run because one of its trunks was: the listing is stale for it.
    if (rule.lastSyncedAt && rule.lastSyncedAt >= startedAt) continue;
    const found = compare('rule', actual, desiredRule(deps.installation, rule), rule.livekitId);
    const items: DriftItem[] = found
      ? [
          {
            object: 'dispatch_rule',
            kind: 'rule',
            id: rule.id,
            name: rule.name,
            livekit_id: rule.livekitId ?? (actual ? idOf(actual) : null),
            action: 'reported',
            ...found,
          },
        ]
      : [];
    const adoptId = actual ? idOf(actual) : rule.livekitId;
    if (items.length > 0) {
      await tx
        .updateTable('dispatchRules')
        .set({
          lastDrift: describe(items),
          lastDriftAt: new Date(),
          ...(mode === 'report' ? { syncState: 'drift' as const } : {}),
        })
        .where('id', '=', rule.id)
        .execute();
    }
    if (
      mode === 'repair' &&
      (items.length > 0 || rule.syncState !== 'in_sync' || adoptId !== rule.livekitId)
    ) {
      if (adoptId !== rule.livekitId) {
        await tx
          .updateTable('dispatchRules')
          .set({ livekitId: adoptId })
          .where('id', '=', rule.id)
          .execute();
      }
      const pending = rule.syncState === 'pending' && items.length === 0;
      try {
        const outcome = await syncRule(tx, deps, rule.id);
        items.forEach((d) => (d.action = outcome.state === 'in_sync' ? 'repaired' : 'failed'));
        if (outcome.state === 'in_sync' && pending) report.applied_pending += 1;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        items.forEach((d) => Object.assign(d, { action: 'failed', error: message }));
        await tx
          .updateTable('dispatchRules')
          .set({ syncState: 'error', syncError: message })
          .where('id', '=', rule.id)
          .execute();
      }
    }
    report.drift.push(...items);
  }
}

const unmanagedOwner = {
  unmarked: 'unmarked',
  foreign: 'other_installation',
  legacy: 'legacy',
} as const;

/**
 * LiveKit objects with our installation's marker that no row claims: left behind by a crash or a
 * hand edit, deleted. Everything else unclaimed is listed and left alone: another gateway
 * sharing this LiveKit owns it, or nobody we know does.
 */
async function removeOrphans(
  deps: TrunksDeps,
  inv: Inventory,
  mode: ReconcileMode,
  report: ReconcileReport,
) {
  for (const [id, { kind, object }] of inv.byId) {
    if (inv.claimed.has(id)) continue;
    const owner = ownershipOf(object.metadata, deps.installation);
    if (owner !== 'ours') {
      report.unmanaged.push({
        kind,
        livekit_id: id,
        name: object.name,
        owner: unmanagedOwner[owner],
      });
      continue;
    }
    const item: DriftItem = {
      object: kind === 'rule' ? 'dispatch_rule' : 'trunk',
      kind,
      id: readMarker(object.metadata)!.id,
      name: object.name,
      livekit_id: id,
      problem: 'orphan',
      action: 'reported',
    };
    if (mode === 'repair') {
      try {
        await livekitCall<unknown>(() =>
          kind === 'rule' ? deps.sip.deleteSipDispatchRule(id) : deps.sip.deleteSipTrunk(id),
        );
        item.action = 'repaired';
      } catch (error) {
        if (error instanceof LivekitError && error.kind === 'not_found') item.action = 'repaired';
        else
          Object.assign(item, {
            action: 'failed',
            error: error instanceof Error ? error.message : String(error),
          });
      }
    }
    report.drift.push(item);
  }
}

/**
 * Compares every trunk and dispatch rule with LiveKit. Drift is always reported (in the report,
 * on the object, in metrics and the audit log); in repair mode it is then fixed. Rules are
 * reconciled after trunks because they name the trunks' LiveKit ids.
 */
export async function reconcile(
  deps: TrunksDeps,
  mode: ReconcileMode,
  actor: Actor = systemActor,
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    mode,
    installation: deps.installation,
    started_at: new Date().toISOString(),
    finished_at: '',
    livekit_reachable: true,
    checked: { trunks: 0, dispatch_rules: 0 },
    applied_pending: 0,
    drift: [],
    unmanaged: [],
  };
  try {
    await withSyncLock(deps.db, async (tx) => {
      const inv = await inventory(deps);
      await reconcileTrunks(tx, deps, inv, mode, report);
      await reconcileRules(tx, deps, inv, mode, report);
      await removeOrphans(deps, inv, mode, report);
      if (report.drift.length > 0) {
        await audit(tx, actor, {
          action: 'reconcile.drift',
          entityType: 'livekit',
          details: { mode, drift: report.drift },
        });
      }
    });
  } catch (error) {
    if (!(error instanceof LivekitError)) throw error;
    report.livekit_reachable = false;
    report.error = error.message;
  }
  for (const d of report.drift) driftCounter.inc({ kind: d.kind, problem: d.problem });
  lastRun.set({ livekit_reachable: String(report.livekit_reachable) }, Date.now() / 1000);
  report.finished_at = new Date().toISOString();
  if (report.drift.length > 0) {
    deps.logger.warn(
      { drift: report.drift.length, mode },
      'reconcile found drift between the database and LiveKit',
    );
  }
  return report;
}

/** Reconciles every `intervalSeconds`. */
export function startReconcileLoop(
  deps: TrunksDeps,
  intervalSeconds: number,
  mode: ReconcileMode,
): () => void {
  return every(intervalSeconds, () => reconcile(deps, mode), {
    logger: deps.logger,
    message: 'periodic reconcile failed',
  });
}
