import { randomBytes, randomUUID } from 'node:crypto';
import { auditRow, type Actor } from '../audit/index.js';
import { sql, type Db, type Trunk, type Tx } from '../db/index.js';
import { invalidInput, conflict, notFound } from '../errors/index.js';
import { livekitGatewayError } from '../livekit/index.js';
import { LivekitError } from '../livekit/index.js';
import type { TrunksDeps } from './deps.js';
import { applyInbound, applyOutbound } from './livekit-apply.js';
import type { TrunkCreateInput, TrunkUpdateInput } from './schemas.js';
import { serializeTrunk } from './serialize.js';
import { isUuid } from '../kernel/uuid.js';
import { getTrunk, selectTrunks, type TrunkWithNumbers } from './store.js';
import { syncTrunk, withSyncLock, type SyncOutcome } from './sync.js';
import { resolveTrunkSpec, type StoredTrunk, type TrunkSpec } from './trunk-spec.js';

export type TrunkView = ReturnType<typeof serializeTrunk>;

function specOrThrow(result: ReturnType<typeof resolveTrunkSpec>): TrunkSpec {
  if (!result.ok) {
    throw invalidInput(
      `invalid trunk: ${result.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      result.problems,
    );
  }
  return result.spec;
}

type TrunkColumns = Omit<
  Trunk,
  | 'id'
  | 'trunkId'
  | 'createdAt'
  | 'livekitInboundId'
  | 'livekitOutboundId'
  | 'lastSyncedAt'
  | 'lastDrift'
  | 'lastDriftAt'
  | 'syncError'
  | 'inboundPasswordEnc'
  | 'passwordEnc'
> & {
  inboundPasswordEnc?: string | null;
  passwordEnc?: string | null;
};

function columns(spec: TrunkSpec, deps: TrunksDeps): TrunkColumns {
  const secret = (value: string | null | undefined) =>
    value === undefined ? undefined : value === null ? null : deps.box.encrypt(value);
  const out: TrunkColumns = {
    name: spec.name,
    provider: spec.provider,
    status: spec.status,
    supportsInbound: spec.supportsInbound,
    supportsOutbound: spec.supportsOutbound,
    allowedAddresses: spec.allowedAddresses,
    inboundUsername: spec.inboundUsername,
    proxyAddress: spec.proxyAddress,
    proxyPort: spec.proxyPort,
    transport: spec.transport,
    username: spec.username,
    realm: spec.realm,
    fromHost: spec.fromHost,
    preferredCodecs: spec.preferredCodecs,
    mediaEncryption: spec.mediaEncryption,
    maxConcurrentCalls: spec.maxConcurrentCalls,
    callsPerSecondLimit: spec.callsPerSecondLimit,
    numberFormat: spec.numberFormat,
    register: spec.register,
    registrar: spec.registrar,
    registerExpiry: spec.registerExpiry,
    registerAlgorithm: spec.registerAlgorithm,
    destinationPolicy: spec.destinationPolicy && JSON.stringify(spec.destinationPolicy),
    smsSplit: spec.smsSplit,
    smsMaxSegments: spec.smsMaxSegments,
    syncState: 'pending',
    updatedAt: new Date(),
  };
  const inbound = secret(spec.inboundPassword);
  const outbound = secret(spec.password);
  if (inbound !== undefined) out.inboundPasswordEnc = inbound;
  if (outbound !== undefined) out.passwordEnc = outbound;
  return out;
}

function slugFrom(name: string): string {
  const base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48);
  return `${base.length >= 2 ? base : 'trunk'}_${randomBytes(3).toString('hex')}`;
}

/** The database refuses duplicates; say which, naming the trunk that already has a number. */
async function explainDuplicate(
  db: Db,
  error: unknown,
  slug: string | undefined,
  numbers: string[],
): Promise<never> {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError.code === '23505' && pgError.constraint === 'trunks_trunk_id_key') {
    throw conflict(`a trunk with trunk_id ${JSON.stringify(slug)} already exists`);
  }
  if (pgError.code === '23505' && pgError.constraint === 'phone_numbers_number_key') {
    const taken = await db
      .selectFrom('phoneNumbers')
      .innerJoin('trunks', 'trunks.id', 'phoneNumbers.trunkId')
      .select(['phoneNumbers.number', 'trunks.trunkId'])
      .where('phoneNumbers.number', 'in', numbers)
      .execute();
    throw conflict(
      `numbers already belong to other trunks: ${taken.map((n) => `${n.number} (${n.trunkId})`).join(', ')}`,
      { numbers: taken.map((n) => n.number) },
    );
  }
  throw error;
}

/**
 * After the transaction: a trunk stored but not yet in LiveKit answers 503 with the stored
 * object, so the caller knows it exists and will be reconciled.
 */
function finish(outcome: SyncOutcome, view: TrunkView): TrunkView {
  if (outcome.state === 'pending') {
    throw livekitGatewayError(outcome.error, {
      stored: true,
      detail: 'saved with sync state "pending"; the next reconcile writes it to LiveKit',
      trunk: view,
    });
  }
  return view;
}

function numberRows(trunkId: string, numbers: string[]) {
  const now = new Date();
  return numbers.map((number) => ({ id: randomUUID(), number, trunkId, updatedAt: now }));
}

async function insertNumbers(tx: Tx, trunkId: string, numbers: string[]): Promise<void> {
  if (numbers.length > 0)
    await tx.insertInto('phoneNumbers').values(numberRows(trunkId, numbers)).execute();
}

export async function createTrunk(
  deps: TrunksDeps,
  actor: Actor,
  input: TrunkCreateInput,
): Promise<TrunkView> {
  const spec = specOrThrow(resolveTrunkSpec(input));
  const slug = input.trunk_id ?? slugFrom(spec.name);
  const id = randomUUID();
  const { outcome, view } = await withSyncLock(deps.db, async (tx) => {
    // The trunk and its numbers in one statement; the ids are ours, so neither waits for the other.
    const insertTrunk = tx
      .insertInto('trunks')
      .values({ ...columns(spec, deps), id, trunkId: slug })
      .returningAll();
    const row =
      spec.numbers.length > 0
        ? await tx
            .with('trunk', () => insertTrunk)
            .with('numbers', (qb) =>
              qb.insertInto('phoneNumbers').values(numberRows(id, spec.numbers)),
            )
            .selectFrom('trunk')
            .selectAll()
            .executeTakeFirstOrThrow()
        : await insertTrunk.executeTakeFirstOrThrow();
    const trunk: TrunkWithNumbers = { ...(row as Trunk), numbers: [...spec.numbers].sort() };
    const result = await syncTrunk(tx, deps, trunk, {
      isNew: true,
      audit: {
        actor,
        entry: (t) => ({
          action: 'trunk.create',
          entityType: 'trunk',
          entityId: id,
          details: serializeTrunk(t),
        }),
      },
    });
    return { outcome: result, view: serializeTrunk(trunk) };
  }).catch((error: unknown) => explainDuplicate(deps.db, error, slug, spec.numbers));
  return finish(outcome, view);
}

function storedOf(trunk: TrunkWithNumbers): StoredTrunk {
  return {
    ...(trunk as Omit<TrunkWithNumbers, 'status' | 'transport'> &
      Pick<StoredTrunk, 'status' | 'transport'>),
    hasInboundPassword: Boolean(trunk.inboundPasswordEnc),
    hasPassword: Boolean(trunk.passwordEnc),
  };
}

export async function updateTrunk(
  deps: TrunksDeps,
  actor: Actor,
  ref: string,
  input: TrunkUpdateInput,
  action = 'trunk.update',
): Promise<TrunkView> {
  let numbers: string[] = [];
  const { outcome, view } = await withSyncLock(deps.db, async (tx) => {
    const current = await getTrunk(tx, ref);
    const spec = specOrThrow(resolveTrunkSpec(input, storedOf(current)));
    numbers = spec.numbers;
    if (input.numbers !== undefined) {
      const removed = current.numbers.filter((n) => !spec.numbers.includes(n));
      if (removed.length > 0) {
        await tx
          .deleteFrom('phoneNumbers')
          .where('trunkId', '=', current.id)
          .where('number', 'in', removed)
          .execute();
      }
      await insertNumbers(
        tx,
        current.id,
        spec.numbers.filter((n) => !current.numbers.includes(n)),
      );
    }
    const row = await tx
      .updateTable('trunks')
      .set(columns(spec, deps))
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const trunk: TrunkWithNumbers = { ...row, numbers: [...spec.numbers].sort() };
    const before = serializeTrunk(current);
    const result = await syncTrunk(tx, deps, trunk, {
      audit: {
        actor,
        entry: (t) => ({
          action,
          entityType: 'trunk',
          entityId: current.id,
          details: { before, after: serializeTrunk(t) },
        }),
      },
    });
    const view = serializeTrunk(trunk);
    return { outcome: result, view };
  }).catch((error: unknown) => explainDuplicate(deps.db, error, undefined, numbers));
  return finish(outcome, view);
}

/** The trunk and the names of the dispatch rules scoped to it, in one query. */
async function findTrunkWithRules(tx: Tx, ref: string) {
  const trunk = await selectTrunks(tx)
    .select(
      sql<
        string[]
      >`coalesce((select array_agg(r.name order by r.name) from dispatch_rule_trunks l join dispatch_rules r on r.id = l.rule_id where l.trunk_id = trunks.id), '{}')`.as(
        'ruleNames',
      ),
    )
    .where((eb) =>
      isUuid(ref) ? eb('trunks.id', '=', ref.toLowerCase()) : eb('trunks.trunkId', '=', ref),
    )
    .executeTakeFirst();
  if (!trunk) throw notFound('trunk', ref);
  return trunk;
}

/**
 * Removes the trunk from LiveKit, then from the database. If LiveKit cannot be reached nothing
 * changes (503): a deleted trunk must stop accepting calls, so it is not deleted only on paper.
 */
export async function deleteTrunk(deps: TrunksDeps, actor: Actor, ref: string): Promise<void> {
  await withSyncLock(deps.db, async (tx) => {
    const current = await findTrunkWithRules(tx, ref);
    if (current.ruleNames.length > 0) {
      throw conflict(
        `trunk is used by dispatch rules: ${current.ruleNames.join(', ')}; remove it from them first`,
      );
    }
    try {
      await applyInbound(deps.sip, current.livekitInboundId, null);
      await applyOutbound(deps.sip, current.livekitOutboundId, null);
    } catch (error) {
      if (error instanceof LivekitError && error.kind === 'unavailable') {
        throw livekitGatewayError(error, { stored: true, detail: 'nothing was deleted' });
      }
      throw error;
    }
    const entry = {
      action: 'trunk.delete',
      entityType: 'trunk',
      entityId: current.id,
      details: serializeTrunk(current),
    };
    await tx
      .with('deleted', (qb) => qb.deleteFrom('trunks').where('id', '=', current.id).returning('id'))
      .insertInto('auditLog')
      .values(auditRow(actor, entry))
      .execute();
  });
}

export async function setTrunkStatus(
  deps: TrunksDeps,
  actor: Actor,
  ref: string,
  status: 'active' | 'inactive',
): Promise<TrunkView> {
  return updateTrunk(
    deps,
    actor,
    ref,
    { status },
    status === 'active' ? 'trunk.activate' : 'trunk.deactivate',
  );
}
