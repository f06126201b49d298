import { sql } from '../db/index.js';
import { serializeCall } from '../calls/serialize.js';
import { EdgeRpcError } from '../edge/index.js';
import type { SipUsersDeps } from './deps.js';
import { lookupContacts } from './edge-sync.js';
import { serializeSipUser, type SipContact } from './serialize.js';
import { getSipUser } from './store.js';
import { OPEN_CALL_STATUSES } from '../calls/statuses.js';

export async function listSipUsers(
  deps: SipUsersDeps,
  q: { page: number; per_page: number; active_only: boolean; search?: string },
) {
  let query = deps.db.selectFrom('sipUsers');
  if (q.active_only) query = query.where('isActive', '=', true).where('isBlocked', '=', false);
  if (q.search) {
    const like = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([eb('username', 'ilike', like), eb('displayName', 'ilike', like)]),
    );
  }
  const total = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const users = await query
    .selectAll()
    .orderBy('username')
    .limit(q.per_page)
    .offset((q.page - 1) * q.per_page)
    .execute();
  return {
    users: users.map(serializeSipUser),
    total: Number(total?.n ?? 0),
    page: q.page,
    per_page: q.per_page,
  };
}

/** What a phone needs to register; never the password. */
export async function sipUserCredentials(deps: SipUsersDeps, ref: string) {
  const u = await getSipUser(deps.db, ref);
  return {
    username: u.username,
    realm: u.realm,
    sip_domain: deps.domain,
    proxy_address: deps.proxy.host,
    proxy_port: deps.proxy.port,
    transports: ['udp', 'tcp'],
    registration_expires: deps.registerExpires,
    max_concurrent_calls: u.maxConcurrentCalls,
    digest_algorithms: ['SHA-256', 'MD5'],
  };
}

/**
 * The contacts held for a user: read from the edge now (usrloc), so a REGISTER is visible at
 * once on every API process; the last copy the poll stored when the edge cannot be asked.
 */
export async function sipUserRegistrations(deps: SipUsersDeps, ref: string) {
  const u = await getSipUser(deps.db, ref);
  let contacts: SipContact[];
  let from: 'edge' | 'database' = 'edge';
  try {
    if (!deps.rpc) throw new EdgeRpcError('ul.lookup', 0, 'the edge is not enabled', false);
    contacts = await lookupContacts(deps.rpc, u.username);
  } catch (error) {
    if (!(error instanceof EdgeRpcError)) throw error;
    from = 'database';
    const now = Date.now();
    contacts = ((u.contactInfo as SipContact[] | null) ?? []).filter(
      (c) => Date.parse(c.expires_at) > now,
    );
  }
  return {
    username: u.username,
    registration_status: contacts.length > 0 ? 'registered' : 'unregistered',
    read_from: from,
    items: contacts,
  };
}

export async function sipUserCalls(
  deps: SipUsersDeps,
  ref: string,
  q: { active_only: boolean; limit: number },
) {
  const u = await getSipUser(deps.db, ref);
  let query = deps.db.selectFrom('calls').selectAll().where('sipUser', '=', u.username);
  if (q.active_only) query = query.where('status', 'in', [...OPEN_CALL_STATUSES]);
  const calls = await query.orderBy('startedAt', 'desc').limit(q.limit).execute();
  return { username: u.username, items: calls.map(serializeCall) };
}

export async function sipUserStats(deps: SipUsersDeps, ref: string) {
  const u = await getSipUser(deps.db, ref);
  const row = await deps.db
    .selectFrom('calls')
    .select([
      sql<number>`count(*)`.as('calls'),
      sql<number>`count(*) filter (where status in (${sql.join([...OPEN_CALL_STATUSES])}))`.as(
        'active',
      ),
      sql<number>`coalesce(sum(duration_seconds), 0)`.as('seconds'),
    ])
    .where('sipUser', '=', u.username)
    .executeTakeFirstOrThrow();
  const registrations = await sipUserRegistrations(deps, u.id);
  return {
    username: u.username,
    total_calls: Math.max(u.totalCalls, Number(row.calls)),
    total_minutes: Math.max(u.totalMinutes, Math.round(Number(row.seconds) / 60)),
    total_sms: u.totalSms,
    active_calls: Number(row.active),
    failed_auth_attempts: u.failedAuthAttempts,
    account_locked_until: u.accountLockedUntil?.toISOString() ?? null,
    last_seen: u.lastSeen?.toISOString() ?? null,
    registration_status: registrations.registration_status,
  };
}
