import { audit, type Actor } from '../audit/index.js';
import type { Prisma } from '../db/index.js';
import {
  badRequest,
  conflict,
  livekitToApiError,
  notFound,
  type FieldProblem,
} from '../http/errors.js';
import { isUuid, trunkWhere, type Db, type TrunksDeps } from './deps.js';
import { toE164 } from './phone.js';
import type { RuleCreateInput, RuleUpdateInput } from './schemas.js';
import { serializeRule } from './serialize.js';
import { ruleWithTrunks, syncRule, withSyncLock, type SyncOutcome, type Tx } from './sync.js';

export async function loadRule(db: Db, idOrName: string) {
  const where: Prisma.DispatchRuleWhereUniqueInput = isUuid(idOrName)
    ? { id: idOrName.toLowerCase() }
    : { name: idOrName };
  const rule = await db.dispatchRule.findUnique({ where, include: ruleWithTrunks });
  if (!rule) throw notFound('dispatch rule', idOrName);
  return rule;
}

function numbersOrProblems(values: string[], field: string, problems: FieldProblem[]): string[] {
  const out: string[] = [];
  values.forEach((raw, index) => {
    const parsed = toE164(raw);
    if (!parsed.ok) problems.push({ field: `${field}.${index}`, message: parsed.error });
    else if (!out.includes(parsed.e164)) out.push(parsed.e164);
  });
  return out;
}

interface RuleSpec {
  data: Omit<Prisma.DispatchRuleUncheckedCreateInput, 'trunks'>;
  trunkIds: string[];
}

async function resolveRule(
  tx: Tx,
  input: RuleUpdateInput,
  current?: Awaited<ReturnType<typeof loadRule>>,
): Promise<RuleSpec> {
  const problems: FieldProblem[] = [];
  const type = input.type ?? current?.type;
  const roomName = input.room_name === undefined ? (current?.roomName ?? null) : input.room_name;
  if (type === 'direct' && !roomName)
    problems.push({ field: 'room_name', message: 'a direct rule needs room_name' });
  const trunkRefs = input.trunk_ids ?? current?.trunks.map((t) => t.trunk.id) ?? [];
  const trunkIds: string[] = [];
  for (const [index, ref] of trunkRefs.entries()) {
    const trunk = await tx.trunk.findUnique({
      where: trunkWhere(ref) as Prisma.TrunkWhereUniqueInput,
    });
    if (!trunk)
      problems.push({
        field: `trunk_ids.${index}`,
        message: `trunk ${JSON.stringify(ref)} does not exist`,
      });
    else if (!trunk.supportsInbound)
      problems.push({
        field: `trunk_ids.${index}`,
        message: `trunk ${trunk.trunkId} does not take inbound calls`,
      });
    else if (!trunkIds.includes(trunk.id)) trunkIds.push(trunk.id);
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
  if (profileId && !(await tx.agentProfile.findUnique({ where: { id: profileId } }))) {
    problems.push({
      field: 'agent_profile_id',
      message: `agent profile ${profileId} does not exist`,
    });
  }
  if (problems.length > 0) {
    throw badRequest(
      `invalid dispatch rule: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      problems,
    );
  }
  return {
    trunkIds,
    data: {
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
    },
  };
}

function finish<T>(outcome: SyncOutcome, view: T): T {
  if (outcome.state === 'pending') {
    throw livekitToApiError(outcome.error, {
      stored: true,
      dispatch_rule: view,
      detail: 'saved with sync state "pending"; the next reconcile writes it to LiveKit',
    });
  }
  return view;
}

export async function listRules(deps: TrunksDeps) {
  const rows = await deps.prisma.dispatchRule.findMany({
    include: ruleWithTrunks,
    orderBy: { createdAt: 'asc' },
  });
  return { items: rows.map(serializeRule), total: rows.length };
}

export async function createRule(deps: TrunksDeps, actor: Actor, input: RuleCreateInput) {
  const { outcome, view } = await withSyncLock(deps.prisma, async (tx) => {
    if (await tx.dispatchRule.findUnique({ where: { name: input.name } })) {
      throw conflict(`a dispatch rule named ${JSON.stringify(input.name)} already exists`);
    }
    const spec = await resolveRule(tx, input);
    const row = await tx.dispatchRule.create({
      data: {
        ...spec.data,
        trunks: { create: spec.trunkIds.map((trunkId) => ({ trunkId })) },
      } as Prisma.DispatchRuleUncheckedCreateInput,
    });
    const outcome = await syncRule(tx, deps, row.id);
    const view = serializeRule(await loadRule(tx, row.id));
    await audit(tx, actor, {
      action: 'dispatch_rule.create',
      entityType: 'dispatch_rule',
      entityId: row.id,
      details: view,
    });
    return { outcome, view };
  });
  return finish(outcome, view);
}

export async function updateRule(
  deps: TrunksDeps,
  actor: Actor,
  idOrName: string,
  input: RuleUpdateInput,
) {
  const { outcome, view } = await withSyncLock(deps.prisma, async (tx) => {
    const current = await loadRule(tx, idOrName);
    if (
      input.name &&
      input.name !== current.name &&
      (await tx.dispatchRule.findUnique({ where: { name: input.name } }))
    ) {
      throw conflict(`a dispatch rule named ${JSON.stringify(input.name)} already exists`);
    }
    const spec = await resolveRule(tx, input, current);
    await tx.dispatchRuleTrunk.deleteMany({ where: { ruleId: current.id } });
    await tx.dispatchRule.update({
      where: { id: current.id },
      data: {
        ...spec.data,
        trunks: { create: spec.trunkIds.map((trunkId) => ({ trunkId })) },
      } as Prisma.DispatchRuleUncheckedUpdateInput,
    });
    const outcome = await syncRule(tx, deps, current.id);
    const view = serializeRule(await loadRule(tx, current.id));
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

export async function deleteRule(deps: TrunksDeps, actor: Actor, idOrName: string): Promise<void> {
  await withSyncLock(deps.prisma, async (tx) => {
    const current = await loadRule(tx, idOrName);
    await tx.dispatchRule.update({ where: { id: current.id }, data: { enabled: false } });
    const outcome = await syncRule(tx, deps, current.id);
    if (outcome.state === 'pending')
      throw livekitToApiError(outcome.error, { stored: true, detail: 'nothing was deleted' });
    await tx.dispatchRule.delete({ where: { id: current.id } });
    await audit(tx, actor, {
      action: 'dispatch_rule.delete',
      entityType: 'dispatch_rule',
      entityId: current.id,
      details: serializeRule(current),
    });
  });
}
