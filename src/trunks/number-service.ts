import type { z } from 'zod';
import { audit, type Actor } from '../audit/index.js';
import type { Prisma } from '../db/index.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import { isUuid, trunkWhere, type Db, type TrunksDeps } from './deps.js';
import { toE164 } from './phone.js';
import { getProviderPreset, type ProviderId } from './provider-presets.js';
import type { numberCreateSchema, numberListQuerySchema, numberUpdateSchema } from './schemas.js';
import { serializeNumber } from './serialize.js';
import { syncTrunk, withSyncLock, type SyncOutcome } from './sync.js';
import { livekitToApiError } from '../http/errors.js';

const withTrunk = { trunk: { select: { trunkId: true } } } as const;

/** A number in a path: its uuid, or the number itself ("+7495..." or digits). */
async function loadNumber(db: Db, idOrNumber: string) {
  let where: Prisma.PhoneNumberWhereUniqueInput;
  if (isUuid(idOrNumber)) where = { id: idOrNumber.toLowerCase() };
  else {
    const parsed = toE164(idOrNumber);
    if (!parsed.ok) throw notFound('number', idOrNumber);
    where = { number: parsed.e164 };
  }
  const row = await db.phoneNumber.findUnique({ where, include: withTrunk });
  if (!row) throw notFound('number', idOrNumber);
  return row;
}

async function loadTrunkRow(db: Db, idOrSlug: string, field: string) {
  const trunk = await db.trunk.findUnique({
    where: trunkWhere(idOrSlug) as Prisma.TrunkWhereUniqueInput,
  });
  if (!trunk)
    throw badRequest(`${field}: trunk ${JSON.stringify(idOrSlug)} does not exist`, [
      { field, message: 'no such trunk' },
    ]);
  return trunk;
}

async function assertProfile(db: Db, id: string | null | undefined): Promise<void> {
  if (!id) return;
  if (!(await db.agentProfile.findUnique({ where: { id } }))) {
    throw badRequest(`agent_profile_id: agent profile ${id} does not exist`, [
      { field: 'agent_profile_id', message: 'no such agent profile' },
    ]);
  }
}

function finish<T>(outcomes: SyncOutcome[], view: T): T {
  const pending = outcomes.find((o) => o.state === 'pending');
  if (pending && pending.state === 'pending') {
    throw livekitToApiError(pending.error, {
      stored: true,
      number: view,
      detail: 'the trunk is pending; the next reconcile writes it to LiveKit',
    });
  }
  return view;
}

export async function listNumbers(deps: TrunksDeps, query: z.infer<typeof numberListQuerySchema>) {
  let where: Prisma.PhoneNumberWhereInput = {};
  if (query.trunk_id) {
    const trunk = await loadTrunkRow(deps.prisma, query.trunk_id, 'trunk_id');
    where = { trunkId: trunk.id };
  }
  const [total, rows] = await Promise.all([
    deps.prisma.phoneNumber.count({ where }),
    deps.prisma.phoneNumber.findMany({
      where,
      include: withTrunk,
      orderBy: { number: 'asc' },
      skip: (query.page - 1) * query.per_page,
      take: query.per_page,
    }),
  ]);
  return { items: rows.map(serializeNumber), page: query.page, per_page: query.per_page, total };
}

export async function getNumber(deps: TrunksDeps, idOrNumber: string) {
  return serializeNumber(await loadNumber(deps.prisma, idOrNumber));
}

export async function createNumber(
  deps: TrunksDeps,
  actor: Actor,
  input: z.infer<typeof numberCreateSchema>,
) {
  const { outcomes, view } = await withSyncLock(deps.prisma, async (tx) => {
    const trunk = await loadTrunkRow(tx, input.trunk_id, 'trunk_id');
    const parsed = toE164(
      input.number,
      getProviderPreset(trunk.provider as ProviderId).defaultCountry,
    );
    if (!parsed.ok)
      throw badRequest(`number: ${parsed.error}`, [{ field: 'number', message: parsed.error }]);
    const existing = await tx.phoneNumber.findUnique({
      where: { number: parsed.e164 },
      include: withTrunk,
    });
    if (existing)
      throw conflict(`${parsed.e164} already belongs to trunk ${existing.trunk.trunkId}`);
    await assertProfile(tx, input.agent_profile_id);
    const row = await tx.phoneNumber.create({
      data: {
        number: parsed.e164,
        trunkId: trunk.id,
        agentProfileId: input.agent_profile_id ?? null,
        label: input.label ?? null,
      },
      include: withTrunk,
    });
    const outcome = await syncTrunk(tx, deps, trunk.id);
    const view = serializeNumber(row);
    await audit(tx, actor, {
      action: 'number.create',
      entityType: 'phone_number',
      entityId: row.id,
      details: view,
    });
    return { outcomes: [outcome], view };
  });
  return finish(outcomes, view);
}

export async function updateNumber(
  deps: TrunksDeps,
  actor: Actor,
  idOrNumber: string,
  input: z.infer<typeof numberUpdateSchema>,
) {
  const { outcomes, view } = await withSyncLock(deps.prisma, async (tx) => {
    const current = await loadNumber(tx, idOrNumber);
    const trunk = input.trunk_id ? await loadTrunkRow(tx, input.trunk_id, 'trunk_id') : undefined;
    await assertProfile(tx, input.agent_profile_id);
    const row = await tx.phoneNumber.update({
      where: { id: current.id },
      data: {
        ...(trunk ? { trunkId: trunk.id } : {}),
        ...(input.agent_profile_id !== undefined ? { agentProfileId: input.agent_profile_id } : {}),
        ...(input.label !== undefined ? { label: input.label } : {}),
      },
      include: withTrunk,
    });
    const outcomes: SyncOutcome[] = [];
    if (trunk && trunk.id !== current.trunkId) {
      outcomes.push(
        await syncTrunk(tx, deps, current.trunkId),
        await syncTrunk(tx, deps, trunk.id),
      );
    }
    const view = serializeNumber(row);
    await audit(tx, actor, {
      action: 'number.update',
      entityType: 'phone_number',
      entityId: row.id,
      details: { before: serializeNumber(current), after: view },
    });
    return { outcomes, view };
  });
  return finish(outcomes, view);
}

export async function deleteNumber(
  deps: TrunksDeps,
  actor: Actor,
  idOrNumber: string,
): Promise<void> {
  await withSyncLock(deps.prisma, async (tx) => {
    const current = await loadNumber(tx, idOrNumber);
    await tx.phoneNumber.delete({ where: { id: current.id } });
    const outcome = await syncTrunk(tx, deps, current.trunkId);
    if (outcome.state === 'pending')
      throw livekitToApiError(outcome.error, { stored: true, detail: 'nothing was deleted' });
    await audit(tx, actor, {
      action: 'number.delete',
      entityType: 'phone_number',
      entityId: current.id,
      details: serializeNumber(current),
    });
  });
}
