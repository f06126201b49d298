import { audit, type Actor } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { conflict, fieldsFromZod, invalidInput, type FieldProblem } from '../errors/index.js';
import type { SipUsersDeps } from './deps.js';
import { digestHa1s } from './ha1.js';
import {
  bulkCreateLimit,
  sipUserCreateSchema,
  type SipUserCreateInput,
  type SipUserUpdateInput,
} from './schemas.js';
import { serializeSipUser, type SipUser, type SipUserView } from './serialize.js';
import { getSipUser, newSipUserId } from './store.js';

function secrets(deps: SipUsersDeps, username: string, realm: string, password: string) {
  const ha1 = digestHa1s(username, realm, password);
  return { ha1Md5Enc: deps.box.encrypt(ha1.md5), ha1Sha256Enc: deps.box.encrypt(ha1.sha256) };
}

async function checkAgentProfile(db: Db, id: string | null | undefined, field: string) {
  if (!id) return;
  const found = await db
    .selectFrom('agentProfiles')
    .select('id')
    .where('id', '=', id.toLowerCase())
    .executeTakeFirst();
  if (!found)
    throw invalidInput(`${field}: no agent profile ${JSON.stringify(id)}`, [
      { field, message: `no agent profile ${JSON.stringify(id)}` },
    ]);
}

function row(deps: SipUsersDeps, input: SipUserCreateInput) {
  const realm = input.realm ?? deps.realm;
  return {
    id: newSipUserId(),
    username: input.username,
    displayName: input.display_name ?? null,
    realm,
    ...secrets(deps, input.username, realm, input.password),
    isActive: input.is_active ?? true,
    isBlocked: input.is_blocked ?? false,
    maxConcurrentCalls: input.max_concurrent_calls ?? 3,
    callRecordingEnabled: input.call_recording_enabled ?? true,
    smsEnabled: input.sms_enabled ?? true,
    agentProfileId: input.agent_profile_id?.toLowerCase() ?? null,
  };
}

function isDuplicate(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'sip_users_username_key';
}

export async function createSipUser(
  deps: SipUsersDeps,
  actor: Actor,
  input: SipUserCreateInput,
): Promise<SipUserView> {
  await checkAgentProfile(deps.db, input.agent_profile_id, 'agent_profile_id');
  const values = row(deps, input);
  let user: SipUser;
  try {
    user = await deps.db.transaction().execute(async (tx) => {
      const created = await tx
        .insertInto('sipUsers')
        .values(values)
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, actor, {
        action: 'sip_user.create',
        entityType: 'sip_user',
        entityId: created.id,
        details: serializeSipUser(created),
      });
      return created;
    });
  } catch (error) {
    if (isDuplicate(error))
      throw conflict(`a SIP user named ${JSON.stringify(input.username)} already exists`);
    throw error;
  }
  return serializeSipUser(user);
}

/** All rows or none: every bad row is named by its index (`3.username: ...`). */
export async function bulkCreateSipUsers(
  deps: SipUsersDeps,
  actor: Actor,
  body: unknown,
): Promise<SipUserView[]> {
  if (!Array.isArray(body))
    throw invalidInput('the body must be a JSON array of SIP users', [
      { field: '(body)', message: 'must be an array' },
    ]);
  if (body.length === 0 || body.length > bulkCreateLimit)
    throw invalidInput(`send 1 to ${bulkCreateLimit} SIP users at once`, [
      { field: '(body)', message: `has ${body.length} rows; send 1 to ${bulkCreateLimit}` },
    ]);
  const problems: FieldProblem[] = [];
  const inputs: SipUserCreateInput[] = [];
  const seen = new Map<string, number>();
  body.forEach((item, i) => {
    const parsed = sipUserCreateSchema.safeParse(item);
    if (!parsed.success) {
      for (const f of fieldsFromZod(parsed.error))
        problems.push({ field: `${i}.${f.field}`, message: f.message });
      return;
    }
    const earlier = seen.get(parsed.data.username);
    if (earlier !== undefined)
      problems.push({ field: `${i}.username`, message: `repeats row ${earlier}` });
    else seen.set(parsed.data.username, i);
    inputs[i] = parsed.data;
  });
  const names = [...seen.keys()];
  for (let at = 0; at < names.length; at += 1000) {
    const taken = await deps.db
      .selectFrom('sipUsers')
      .select('username')
      .where('username', 'in', names.slice(at, at + 1000))
      .execute();
    for (const t of taken)
      problems.push({ field: `${seen.get(t.username)}.username`, message: 'already exists' });
  }
  const profiles = [
    ...new Set(
      inputs.flatMap((i) => (i?.agent_profile_id ? [i.agent_profile_id.toLowerCase()] : [])),
    ),
  ];
  if (profiles.length > 0) {
    const known = new Set(
      (
        await deps.db.selectFrom('agentProfiles').select('id').where('id', 'in', profiles).execute()
      ).map((p) => p.id),
    );
    inputs.forEach((input, i) => {
      const id = input?.agent_profile_id?.toLowerCase();
      if (id && !known.has(id))
        problems.push({
          field: `${i}.agent_profile_id`,
          message: `no agent profile ${JSON.stringify(id)}`,
        });
    });
  }
  if (problems.length > 0) {
    problems.sort((a, b) => parseInt(a.field, 10) - parseInt(b.field, 10));
    const rows = new Set(problems.map((p) => p.field.split('.')[0]));
    throw invalidInput(
      `nothing was created: ${rows.size} of ${body.length} rows are invalid: ${problems
        .slice(0, 20)
        .map((p) => `${p.field}: ${p.message}`)
        .join('; ')}${problems.length > 20 ? '; ...' : ''}`,
      problems,
    );
  }
  const values = inputs.map((input) => row(deps, input));
  let created: SipUser[];
  try {
    created = await deps.db.transaction().execute(async (tx) => {
      const out: SipUser[] = [];
      for (let at = 0; at < values.length; at += 500)
        out.push(
          ...(await tx
            .insertInto('sipUsers')
            .values(values.slice(at, at + 500))
            .returningAll()
            .execute()),
        );
      await audit(tx, actor, {
        action: 'sip_user.bulk_create',
        entityType: 'sip_user',
        details: { count: out.length, usernames: out.map((u) => u.username).slice(0, 100) },
      });
      return out;
    });
  } catch (error) {
    if (isDuplicate(error))
      throw conflict('nothing was created: a username was taken while the request ran; retry');
    throw error;
  }
  return created.map(serializeSipUser);
}

export async function updateSipUser(
  deps: SipUsersDeps,
  actor: Actor,
  ref: string,
  input: SipUserUpdateInput,
): Promise<SipUserView> {
  const current = await getSipUser(deps.db, ref);
  await checkAgentProfile(deps.db, input.agent_profile_id, 'agent_profile_id');
  const realm = input.realm ?? current.realm;
  if (realm !== current.realm && input.password === undefined) {
    const message =
      'changing the realm needs a new password: the stored digests (HA1) are made with the realm and no password is kept to remake them';
    throw invalidInput(`realm: ${message}`, [{ field: 'realm', message }]);
  }
  const set = {
    ...(input.display_name !== undefined ? { displayName: input.display_name } : {}),
    ...(input.is_active !== undefined ? { isActive: input.is_active } : {}),
    ...(input.is_blocked !== undefined ? { isBlocked: input.is_blocked } : {}),
    ...(input.max_concurrent_calls !== undefined
      ? { maxConcurrentCalls: input.max_concurrent_calls }
      : {}),
    ...(input.call_recording_enabled !== undefined
      ? { callRecordingEnabled: input.call_recording_enabled }
      : {}),
    ...(input.sms_enabled !== undefined ? { smsEnabled: input.sms_enabled } : {}),
    ...(input.agent_profile_id !== undefined
      ? { agentProfileId: input.agent_profile_id?.toLowerCase() ?? null }
      : {}),
    ...(input.password !== undefined
      ? { realm, ...secrets(deps, current.username, realm, input.password) }
      : {}),
    updatedAt: new Date(),
  };
  const user = await deps.db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable('sipUsers')
      .set(set)
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(tx, actor, {
      action: 'sip_user.update',
      entityType: 'sip_user',
      entityId: updated.id,
      details: { ...serializeSipUser(updated), password_changed: input.password !== undefined },
    });
    return updated;
  });
  return serializeSipUser(user);
}

export async function deleteSipUser(deps: SipUsersDeps, actor: Actor, ref: string): Promise<void> {
  const current = await getSipUser(deps.db, ref);
  await deps.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('sipUsers').where('id', '=', current.id).execute();
    await audit(tx, actor, {
      action: 'sip_user.delete',
      entityType: 'sip_user',
      entityId: current.id,
      details: { username: current.username },
    });
  });
}
