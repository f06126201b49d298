import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { audit, type Actor } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { invalidInput, conflict, notFound } from '../errors/index.js';
import { livekitGatewayError } from '../livekit/index.js';
import type { TrunksDeps } from './deps.js';
import { checkedForwarding } from './forwarding-target.js';
import { toE164 } from './phone.js';
import { getProviderPreset, type ProviderId } from './provider-presets.js';
import type { numberCreateSchema, numberListQuerySchema, numberUpdateSchema } from './schemas.js';
import { serializeNumber } from './serialize.js';
import { isUuid } from '../kernel/uuid.js';
import { findTrunk, getTrunk } from './store.js';
import { syncTrunk, withSyncLock, type SyncOutcome } from './sync.js';

function selectNumbers(db: Db) {
  return db
    .selectFrom('phoneNumbers')
    .innerJoin('trunks', 'trunks.id', 'phoneNumbers.trunkId')
    .selectAll('phoneNumbers')
    .select('trunks.trunkId as trunkSlug');
}

/** A number in a path: its uuid, or the number itself ("+7495..." or digits). */
async function loadNumber(db: Db, ref: string) {
  let query = selectNumbers(db);
  if (isUuid(ref)) query = query.where('phoneNumbers.id', '=', ref.toLowerCase());
  else {
    const parsed = toE164(ref);
    if (!parsed.ok) throw notFound('number', ref);
    query = query.where('phoneNumbers.number', '=', parsed.e164);
  }
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('number', ref);
  return row;
}

async function trunkForField(db: Db, ref: string, field: string) {
  const trunk = await findTrunk(db, ref);
  if (!trunk) {
    throw invalidInput(`${field}: trunk ${JSON.stringify(ref)} does not exist`, [
      { field, message: 'no such trunk' },
    ]);
  }
  return trunk;
}

async function assertProfile(db: Db, id: string | null | undefined): Promise<void> {
  if (!id) return;
  if (
    !(await db.selectFrom('agentProfiles').select('id').where('id', '=', id).executeTakeFirst())
  ) {
    throw invalidInput(`agent_profile_id: agent profile ${id} does not exist`, [
      { field: 'agent_profile_id', message: 'no such agent profile' },
    ]);
  }
}

function finish<T>(outcomes: SyncOutcome[], view: T): T {
  const pending = outcomes.find((o) => o.state === 'pending');
  if (pending && pending.state === 'pending') {
    throw livekitGatewayError(pending.error, {
      stored: true,
      number: view,
      detail: 'the trunk is pending; the next reconcile writes it to LiveKit',
    });
  }
  return view;
}

export async function listNumbers(deps: TrunksDeps, query: z.infer<typeof numberListQuerySchema>) {
  const trunk = query.trunk_id
    ? await trunkForField(deps.db, query.trunk_id, 'trunk_id')
    : undefined;
  let rows = selectNumbers(deps.db);
  let count = deps.db
    .selectFrom('phoneNumbers')
    .select((eb) => eb.fn.countAll<number>().as('total'));
  if (trunk) {
    rows = rows.where('phoneNumbers.trunkId', '=', trunk.id);
    count = count.where('trunkId', '=', trunk.id);
  }
  const [{ total }, items] = await Promise.all([
    count.executeTakeFirstOrThrow(),
    rows
      .orderBy('phoneNumbers.number')
      .offset((query.page - 1) * query.per_page)
      .limit(query.per_page)
      .execute(),
  ]);
  return { items: items.map(serializeNumber), page: query.page, per_page: query.per_page, total };
}

export async function getNumber(deps: TrunksDeps, ref: string) {
  return serializeNumber(await loadNumber(deps.db, ref));
}

export async function createNumber(
  deps: TrunksDeps,
  actor: Actor,
  input: z.infer<typeof numberCreateSchema>,
) {
  const { outcomes, view } = await withSyncLock(deps.db, async (tx) => {
    const trunk = await trunkForField(tx, input.trunk_id, 'trunk_id');
    const parsed = toE164(
      input.number,
      getProviderPreset(trunk.provider as ProviderId).defaultCountry,
    );
    if (!parsed.ok)
      throw invalidInput(`number: ${parsed.error}`, [{ field: 'number', message: parsed.error }]);
    const existing = await selectNumbers(tx)
      .where('phoneNumbers.number', '=', parsed.e164)
      .executeTakeFirst();
    if (existing) throw conflict(`${parsed.e164} already belongs to trunk ${existing.trunkSlug}`);
    await assertProfile(tx, input.agent_profile_id);
    const forwarding = await checkedForwarding(
      deps,
      [trunk.id],
      input.forwarding,
      actor,
      'number.forwarding',
    );
    const id = randomUUID();
    await tx
      .insertInto('phoneNumbers')
      .values({
        id,
        number: parsed.e164,
        trunkId: trunk.id,
        agentProfileId: input.agent_profile_id ?? null,
        label: input.label ?? null,
        maxConcurrentCalls: input.max_concurrent_calls ?? null,
        queuePriority: input.queue_priority ?? 0,
        forwarding: forwarding ? JSON.stringify(forwarding) : null,
        updatedAt: new Date(),
      })
      .execute();
    const outcome = await syncTrunk(tx, deps, {
      ...trunk,
      numbers: [...trunk.numbers, parsed.e164].sort(),
    });
    const view = serializeNumber(await loadNumber(tx, id));
    await audit(tx, actor, {
      action: 'number.create',
      entityType: 'phone_number',
      entityId: id,
      details: view,
    });
    return { outcomes: [outcome], view };
  });
  return finish(outcomes, view);
}

export async function updateNumber(
  deps: TrunksDeps,
  actor: Actor,
  ref: string,
  input: z.infer<typeof numberUpdateSchema>,
) {
  const { outcomes, view } = await withSyncLock(deps.db, async (tx) => {
    const current = await loadNumber(tx, ref);
    const target = input.trunk_id ? await trunkForField(tx, input.trunk_id, 'trunk_id') : undefined;
    await assertProfile(tx, input.agent_profile_id);
    const forwarding = await checkedForwarding(
      deps,
      [target?.id ?? current.trunkId],
      input.forwarding,
      actor,
      'number.forwarding',
    );
    await tx
      .updateTable('phoneNumbers')
      .set({
        ...(target ? { trunkId: target.id } : {}),
        ...(input.agent_profile_id !== undefined ? { agentProfileId: input.agent_profile_id } : {}),
        ...(input.label !== undefined ? { label: input.label } : {}),
        ...(input.max_concurrent_calls !== undefined
          ? { maxConcurrentCalls: input.max_concurrent_calls }
          : {}),
        ...(input.queue_priority !== undefined ? { queuePriority: input.queue_priority } : {}),
        ...(forwarding !== undefined
          ? { forwarding: forwarding ? JSON.stringify(forwarding) : null }
          : {}),
        updatedAt: new Date(),
      })
      .where('id', '=', current.id)
      .execute();
    const outcomes: SyncOutcome[] = [];
    if (target && target.id !== current.trunkId) {
      outcomes.push(await syncTrunk(tx, deps, await getTrunk(tx, current.trunkId)));
      outcomes.push(await syncTrunk(tx, deps, await getTrunk(tx, target.id)));
    }
    const view = serializeNumber(await loadNumber(tx, current.id));
    await audit(tx, actor, {
      action: 'number.update',
      entityType: 'phone_number',
      entityId: current.id,
      details: { before: serializeNumber(current), after: view },
    });
    return { outcomes, view };
  });
  return finish(outcomes, view);
}

export async function deleteNumber(deps: TrunksDeps, actor: Actor, ref: string): Promise<void> {
  await withSyncLock(deps.db, async (tx) => {
    const current = await loadNumber(tx, ref);
    await tx.deleteFrom('phoneNumbers').where('id', '=', current.id).execute();
    const outcome = await syncTrunk(tx, deps, await getTrunk(tx, current.trunkId));
    if (outcome.state === 'pending') {
      throw livekitGatewayError(outcome.error, { stored: true, detail: 'nothing was deleted' });
    }
    await audit(tx, actor, {
      action: 'number.delete',
      entityType: 'phone_number',
      entityId: current.id,
      details: serializeNumber(current),
    });
  });
}
