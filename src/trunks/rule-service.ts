import { randomUUID } from 'node:crypto';
import { audit, type Actor } from '../audit/index.js';
import type { DispatchRule, Tx } from '../db/index.js';
import { invalidInput, conflict, type FieldProblem } from '../errors/index.js';
import { livekitGatewayError } from '../livekit/index.js';
import type { TrunksDeps } from './deps.js';
import { checkedForwarding } from './forwarding-target.js';
import { toE164 } from './phone.js';
import type { RuleCreateInput, RuleUpdateInput } from './schemas.js';
import { serializeRule } from './serialize.js';
import { findTrunk, getRule, selectRules, type RuleWithTrunks } from './store.js';
import { syncRule, withSyncLock, type SyncOutcome } from './sync.js';

function numbersOrProblems(values: string[], field: string, problems: FieldProblem[]): string[] {
  const out: string[] = [];
  values.forEach((raw, index) => {
    const parsed = toE164(raw);
    if (!parsed.ok) problems.push({ field: `${field}.${index}`, message: parsed.error });
    else if (!out.includes(parsed.e164)) out.push(parsed.e164);
  });
  return out;
}

type RuleColumns = Omit<
  DispatchRule,
  'id' | 'createdAt' | 'livekitId' | 'syncError' | 'lastSyncedAt' | 'lastDrift' | 'lastDriftAt'
>;

async function resolveRule(
  deps: TrunksDeps,
  actor: Actor,
  tx: Tx,
  input: RuleUpdateInput,
  current?: RuleWithTrunks,
): Promise<{ columns: RuleColumns; trunkIds: string[] }> {
  const problems: FieldProblem[] = [];
  const type = input.type ?? current?.type;
  const roomName = input.room_name === undefined ? (current?.roomName ?? null) : input.room_name;
  if (type === 'direct' && !roomName)
    problems.push({ field: 'room_name', message: 'a direct rule needs room_name' });
  const refs = input.trunk_ids ?? current?.trunks.map((t) => t.id) ?? [];
  const trunkIds: string[] = [];
  for (const [index, ref] of refs.entries()) {
    const trunk = await findTrunk(tx, ref);
    if (!trunk)
      problems.push({
        field: `trunk_ids.${index}`,
        message: `trunk ${JSON.stringify(ref)} does not exist`,
      });
    else if (!trunk.supportsInbound) {
      problems.push({
        field: `trunk_ids.${index}`,
        message: `trunk ${trunk.trunkId} does not take inbound calls`,
      });
    } else if (!trunkIds.includes(trunk.id)) trunkIds.push(trunk.id);
  }
  const inboundNumbers = numbersOrProblems(
    input.inbound_numbers ?? current?.inboundNumbers ?? [],
    'inbound_numbers',
    problems,
  );
  const numbers = numbersOrProblems(input.numbers ?? current?.numbers ?? [], 'numbers', problems);
  const profileId =
    input.agent_profile_id === undefined
      ? (current?.agentProfileId ?? null)
      : input.agent_profile_id;
  if (
    profileId &&
    !(await tx
      .selectFrom('agentProfiles')
      .select('id')
      .where('id', '=', profileId)
      .executeTakeFirst())
  ) {
    problems.push({
      field: 'agent_profile_id',
      message: `agent profile ${profileId} does not exist`,
    });
  }
  if (problems.length > 0) {
    throw invalidInput(
      `invalid dispatch rule: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      problems,
    );
  }
  const forwarding =
    input.forwarding === undefined
      ? (current?.forwarding ?? null)
      : ((await checkedForwarding(
          deps,
          trunkIds,
          input.forwarding,
          actor,
          'dispatch_rule.forwarding',
        )) ?? null);
  return {
    trunkIds,
    columns: {
      forwarding: forwarding === null ? null : JSON.stringify(forwarding),
      name: input.name ?? current!.name,
      type: type!,
      roomPrefix: input.room_prefix ?? current?.roomPrefix ?? 'call-',
      roomName: type === 'direct' ? roomName : null,
      pin: input.pin === undefined ? (current?.pin ?? null) : input.pin,
      randomize: input.randomize ?? current?.randomize ?? false,
      agentName: input.agent_name === undefined ? (current?.agentName ?? null) : input.agent_name,
      agentProfileId: profileId,
      inboundNumbers,
      numbers,
      hidePhoneNumber: input.hide_phone_number ?? current?.hidePhoneNumber ?? false,
      enabled: input.enabled ?? current?.enabled ?? true,
      syncState: 'pending',
      updatedAt: new Date(),
    },
  };
}

async function linkTrunks(tx: Tx, ruleId: string, trunkIds: string[]): Promise<void> {
  await tx.deleteFrom('dispatchRuleTrunks').where('ruleId', '=', ruleId).execute();
  await tx
    .insertInto('dispatchRuleTrunks')
    .values(trunkIds.map((trunkId) => ({ ruleId, trunkId })))
    .execute();
}

async function assertNameFree(tx: Tx, name: string): Promise<void> {
  if (
    await tx.selectFrom('dispatchRules').select('id').where('name', '=', name).executeTakeFirst()
  ) {
    throw conflict(`a dispatch rule named ${JSON.stringify(name)} already exists`);
  }
}

function finish<T>(outcome: SyncOutcome, view: T): T {
  if (outcome.state === 'pending') {
    throw livekitGatewayError(outcome.error, {
      stored: true,
      dispatch_rule: view,
      detail: 'saved with sync state "pending"; the next reconcile writes it to LiveKit',
    });
  }
  return view;
}

export async function listRules(deps: TrunksDeps) {
  const rows = await selectRules(deps.db);
  return { items: rows.map(serializeRule), total: rows.length };
}

export async function createRule(deps: TrunksDeps, actor: Actor, input: RuleCreateInput) {
  const { outcome, view } = await withSyncLock(deps.db, async (tx) => {
    await assertNameFree(tx, input.name);
    // A rule that names no agent dispatches the gateway's own worker; agent_name: null opts out.
    const spec = await resolveRule(deps, actor, tx, {
      ...input,
      agent_name:
        input.agent_name === undefined ? (deps.defaultAgentName ?? null) : input.agent_name,
    });
    const id = randomUUID();
    await tx
      .insertInto('dispatchRules')
      .values({ ...spec.columns, id })
      .execute();
    await linkTrunks(tx, id, spec.trunkIds);
    const outcome = await syncRule(tx, deps, id);
    const view = serializeRule(await getRule(tx, id));
    await audit(tx, actor, {
      action: 'dispatch_rule.create',
      entityType: 'dispatch_rule',
      entityId: id,
      details: view,
    });
    return { outcome, view };
  });
  return finish(outcome, view);
}

export async function updateRule(
  deps: TrunksDeps,
  actor: Actor,
  ref: string,
  input: RuleUpdateInput,
) {
  const { outcome, view } = await withSyncLock(deps.db, async (tx) => {
    const current = await getRule(tx, ref);
    if (input.name && input.name !== current.name) await assertNameFree(tx, input.name);
    const spec = await resolveRule(deps, actor, tx, input, current);
    await tx.updateTable('dispatchRules').set(spec.columns).where('id', '=', current.id).execute();
    await linkTrunks(tx, current.id, spec.trunkIds);
    const outcome = await syncRule(tx, deps, current.id);
    const view = serializeRule(await getRule(tx, current.id));
    await audit(tx, actor, {
      action: 'dispatch_rule.update',
      entityType: 'dispatch_rule',
      entityId: current.id,
      details: { before: serializeRule(current), after: view },
    });
    return { outcome, view };
  });
  return finish(outcome, view);
}

export async function deleteRule(deps: TrunksDeps, actor: Actor, ref: string): Promise<void> {
  await withSyncLock(deps.db, async (tx) => {
    const current = await getRule(tx, ref);
    await tx
      .updateTable('dispatchRules')
      .set({ enabled: false })
      .where('id', '=', current.id)
      .execute();
    const outcome = await syncRule(tx, deps, current.id);
    if (outcome.state === 'pending') {
      throw livekitGatewayError(outcome.error, { stored: true, detail: 'nothing was deleted' });
    }
    await tx.deleteFrom('dispatchRules').where('id', '=', current.id).execute();
    await audit(tx, actor, {
      action: 'dispatch_rule.delete',
      entityType: 'dispatch_rule',
      entityId: current.id,
      details: serializeRule(current),
    });
  });
}

export { getRule };
