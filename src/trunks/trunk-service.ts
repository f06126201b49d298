import { randomBytes } from 'node:crypto';
import { audit, type Actor } from '../audit/index.js';
import type { Prisma } from '../db/index.js';
import { ApiError, badRequest, conflict, livekitToApiError, notFound } from '../http/errors.js';
import { trunkWhere, type Db, type TrunksDeps } from './deps.js';
import type { TrunkCreateInput, TrunkUpdateInput } from './schemas.js';
import { serializeTrunk } from './serialize.js';
import { syncTrunk, trunkWithNumbers, withSyncLock, type SyncOutcome, type Tx } from './sync.js';
import { resolveTrunkSpec, type StoredTrunk, type TrunkSpec } from './trunk-spec.js';

export type TrunkView = ReturnType<typeof serializeTrunk>;

export async function loadTrunk(db: Db, idOrSlug: string) {
  const trunk = await db.trunk.findUnique({
    where: trunkWhere(idOrSlug) as Prisma.TrunkWhereUniqueInput,
    include: trunkWithNumbers,
  });
  if (!trunk) throw notFound('trunk', idOrSlug);
  return trunk;
}

function specOrThrow(result: ReturnType<typeof resolveTrunkSpec>): TrunkSpec {
  if (!result.ok) {
    throw badRequest(
      `invalid trunk: ${result.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      result.problems,
    );
  }
  return result.spec;
}

function columns(
  spec: TrunkSpec,
  deps: TrunksDeps,
): Omit<Prisma.TrunkUncheckedCreateInput, 'trunkId'> {
  const secret = (value: string | null | undefined) =>
    value === undefined ? undefined : value === null ? null : deps.box.encrypt(value);
  return {
    name: spec.name,
    provider: spec.provider,
    status: spec.status,
    supportsInbound: spec.supportsInbound,
    supportsOutbound: spec.supportsOutbound,
    allowedAddresses: spec.allowedAddresses,
    inboundUsername: spec.inboundUsername,
    inboundPasswordEnc: secret(spec.inboundPassword),
    proxyAddress: spec.proxyAddress,
    proxyPort: spec.proxyPort,
    transport: spec.transport,
    username: spec.username,
    passwordEnc: secret(spec.password),
    realm: spec.realm,
    fromHost: spec.fromHost,
    preferredCodecs: spec.preferredCodecs,
    maxConcurrentCalls: spec.maxConcurrentCalls,
    callsPerSecondLimit: spec.callsPerSecondLimit,
    numberFormat: spec.numberFormat,
    syncState: 'pending',
  };
}

async function assertNumbersFree(tx: Tx, numbers: string[], trunkId?: string): Promise<void> {
  if (numbers.length === 0) return;
  const taken = await tx.phoneNumber.findMany({
    where: { number: { in: numbers }, ...(trunkId ? { NOT: { trunkId } } : {}) },
    include: { trunk: { select: { trunkId: true } } },
  });
  if (taken.length > 0) {
    throw conflict(
      `numbers already belong to other trunks: ${taken.map((n) => `${n.number} (${n.trunk.trunkId})`).join(', ')}`,
      { numbers: taken.map((n) => n.number) },
    );
  }
}

function slugFrom(name: string): string {
  const base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48);
  return `${base.length >= 2 ? base : 'trunk'}_${randomBytes(3).toString('hex')}`;
}

/**
 * After the transaction: a trunk stored but not yet in LiveKit answers 503 with the stored
 * object, so the caller knows it exists and will be reconciled.
 */
function finish(outcome: SyncOutcome, view: TrunkView): TrunkView {
  if (outcome.state === 'pending') {
    throw livekitToApiError(outcome.error, {
      stored: true,
      detail: 'saved with sync state "pending"; the next reconcile writes it to LiveKit',
      trunk: view,
    });
  }
  return view;
}

export async function createTrunk(
  deps: TrunksDeps,
  actor: Actor,
  input: TrunkCreateInput,
): Promise<TrunkView> {
  const spec = specOrThrow(resolveTrunkSpec(input));
  const slug = input.trunk_id ?? slugFrom(spec.name);
  const { outcome, view } = await withSyncLock(deps.prisma, async (tx) => {
    if (await tx.trunk.findUnique({ where: { trunkId: slug } })) {
      throw conflict(`a trunk with trunk_id ${JSON.stringify(slug)} already exists`);
    }
    await assertNumbersFree(tx, spec.numbers);
    const row = await tx.trunk.create({ data: { ...columns(spec, deps), trunkId: slug } });
    if (spec.numbers.length > 0) {
      await tx.phoneNumber.createMany({
        data: spec.numbers.map((number) => ({ number, trunkId: row.id })),
      });
    }
    const result = await syncTrunk(tx, deps, row.id);
    const view = serializeTrunk(await loadTrunk(tx, row.id));
    await audit(tx, actor, {
      action: 'trunk.create',
      entityType: 'trunk',
      entityId: row.id,
      details: view,
    });
    return { outcome: result, view };
  });
  return finish(outcome, view);
}

function storedOf(trunk: Awaited<ReturnType<typeof loadTrunk>>): StoredTrunk {
  return {
    ...trunk,
    status: trunk.status,
    transport: trunk.transport,
    numbers: trunk.phoneNumbers.map((n) => n.number),
    hasInboundPassword: Boolean(trunk.inboundPasswordEnc),
    hasPassword: Boolean(trunk.passwordEnc),
  };
}

export async function updateTrunk(
  deps: TrunksDeps,
  actor: Actor,
  idOrSlug: string,
  input: TrunkUpdateInput,
  action = 'trunk.update',
): Promise<TrunkView> {
  const { outcome, view } = await withSyncLock(deps.prisma, async (tx) => {
    const current = await loadTrunk(tx, idOrSlug);
    const spec = specOrThrow(resolveTrunkSpec(input, storedOf(current)));
    if (input.numbers !== undefined) {
      await assertNumbersFree(tx, spec.numbers, current.id);
      await tx.phoneNumber.deleteMany({
        where: { trunkId: current.id, number: { notIn: spec.numbers } },
      });
      const existing = new Set(current.phoneNumbers.map((n) => n.number));
      const added = spec.numbers.filter((n) => !existing.has(n));
      if (added.length > 0) {
        await tx.phoneNumber.createMany({
          data: added.map((number) => ({ number, trunkId: current.id })),
        });
      }
    }
    await tx.trunk.update({ where: { id: current.id }, data: columns(spec, deps) });
    const result = await syncTrunk(tx, deps, current.id);
    const view = serializeTrunk(await loadTrunk(tx, current.id));
    await audit(tx, actor, {
      action,
      entityType: 'trunk',
      entityId: current.id,
      details: { before: serializeTrunk(current), after: view },
    });
    return { outcome: result, view };
  });
  return finish(outcome, view);
}

/**
 * Removes the trunk from LiveKit, then from the database. If LiveKit cannot be reached nothing
 * changes (503): a deleted trunk must stop accepting calls, so it is not deleted only on paper.
 */
export async function deleteTrunk(deps: TrunksDeps, actor: Actor, idOrSlug: string): Promise<void> {
  await withSyncLock(deps.prisma, async (tx) => {
    const current = await loadTrunk(tx, idOrSlug);
    const rules = await tx.dispatchRuleTrunk.findMany({
      where: { trunkId: current.id },
      include: { rule: { select: { name: true } } },
    });
    if (rules.length > 0) {
      throw conflict(
        `trunk is used by dispatch rules: ${rules.map((r) => r.rule.name).join(', ')}; remove it from them first`,
      );
    }
    await tx.trunk.update({ where: { id: current.id }, data: { status: 'inactive' } });
    const outcome = await syncTrunk(tx, deps, current.id);
    if (outcome.state === 'pending') {
      throw livekitToApiError(outcome.error, { stored: true, detail: 'nothing was deleted' });
    }
    await tx.trunk.delete({ where: { id: current.id } });
    await audit(tx, actor, {
      action: 'trunk.delete',
      entityType: 'trunk',
      entityId: current.id,
      details: serializeTrunk(current),
    });
  });
}

export async function setTrunkStatus(
  deps: TrunksDeps,
  actor: Actor,
  idOrSlug: string,
  status: 'active' | 'inactive',
): Promise<TrunkView> {
  return updateTrunk(
    deps,
    actor,
    idOrSlug,
    { status },
    status === 'active' ? 'trunk.activate' : 'trunk.deactivate',
  );
}

export { ApiError };
