import type { Db, SecretBox } from '../db/index.js';
import {
  deleteHtableKey,
  dumpHtable,
  EdgeRpcError,
  type EdgePollTask,
  type EdgeRpc,
} from '../edge/index.js';
import { agentKey } from './livekit-sync.js';
import type { SipContact, SipUser } from './serialize.js';

/**
 * The edge's table of SIP users (deploy/kamailio/edge.cfg, route USER_AUTH): username ->
 * "<md5 HA1>|<sha-256 HA1>|<state>|<max calls>|<realm>|<agent key>". The HA1s live in the edge's memory
 * only; Kamailio gets no database credentials.
 */
export const SIP_USER_TABLE = 'sipuser';
/** The last refusal per user, written by the edge: "<reason>|<unix time>|<source>". */
export const USER_FAIL_TABLE = 'userfail';

export type EdgeUserState = 'ok' | 'inactive' | 'blocked';

export function edgeUserState(u: Pick<SipUser, 'isActive' | 'isBlocked'>): EdgeUserState {
  if (u.isBlocked) return 'blocked';
  return u.isActive ? 'ok' : 'inactive';
}

function edgeValue(u: SipUser, box: SecretBox): string {
  return [
    box.decrypt(u.ha1Md5Enc),
    box.decrypt(u.ha1Sha256Enc),
    edgeUserState(u),
    u.maxConcurrentCalls,
    u.realm,
    agentKey(u.agentProfileId),
  ].join('|');
}

/** Puts these users into the edge's table now (after an API change). */
export async function pushSipUsers(rpc: EdgeRpc, box: SecretBox, users: SipUser[]) {
  for (const u of users)
    await rpc.call('htable.sets', [SIP_USER_TABLE, u.username, edgeValue(u, box)]);
}

export async function removeSipUser(rpc: EdgeRpc, username: string) {
  await deleteHtableKey(rpc, SIP_USER_TABLE, username);
}

/** Makes the edge's table equal to the database (and refills an edge that restarted empty). */
export async function syncSipUsers(db: Db, box: SecretBox, rpc: EdgeRpc): Promise<void> {
  const present = await dumpHtable(rpc, SIP_USER_TABLE);
  const users = await db.selectFrom('sipUsers').selectAll().execute();
  const wanted = new Set<string>();
  for (const u of users) {
    wanted.add(u.username);
    const value = edgeValue(u, box);
    if (present.get(u.username) !== value)
      await rpc.call('htable.sets', [SIP_USER_TABLE, u.username, value]);
  }
  for (const key of present.keys())
    if (!wanted.has(key)) await deleteHtableKey(rpc, SIP_USER_TABLE, key);
}

interface UlContact {
  Address?: string;
  Expires?: number | string;
  'User-Agent'?: string;
  Received?: string;
  Socket?: string;
  'Last-Modified'?: number;
}
interface UlRecord {
  AoR?: string;
  Contacts?: { Contact?: UlContact }[];
}

function transportOf(c: UlContact): string | null {
  const fromUri = /;transport=([a-z]+)/i.exec(c.Address ?? '')?.[1];
  const fromSocket = /^([a-z]+):/i.exec(c.Socket ?? '')?.[1];
  return (fromUri ?? fromSocket ?? null)?.toLowerCase() ?? null;
}

function toContact(c: UlContact, nowSeconds: number): SipContact {
  const expires = Number(c.Expires);
  // A contact behind NAT: the edge keeps the public source in Received (fix_nated_register).
  const received = /^sips?:([^;>]+)/i.exec(c.Received ?? '')?.[1] ?? null;
  const inContact = /@([^;>]+)/.exec(c.Address ?? '')?.[1] ?? null;
  return {
    contact: c.Address ?? '',
    source: received ?? inContact,
    transport: transportOf(c),
    user_agent: c['User-Agent'] && c['User-Agent'] !== '[not set]' ? c['User-Agent'] : null,
    expires_at: new Date(
      (nowSeconds + (Number.isFinite(expires) ? expires : 0)) * 1000,
    ).toISOString(),
  };
}

function contactsOf(record: UlRecord | undefined): SipContact[] {
  const now = Math.floor(Date.now() / 1000);
  return (record?.Contacts ?? [])
    .map((c) => c.Contact)
    .filter((c): c is UlContact => Boolean(c?.Address))
    .map((c) => toContact(c, now));
}

/** The contacts the edge holds for one user now (usrloc `ul.lookup`); [] when none. */
export async function lookupContacts(rpc: EdgeRpc, username: string): Promise<SipContact[]> {
  try {
    return contactsOf(await rpc.call<UlRecord>('ul.lookup', ['location', username]));
  } catch (error) {
    // Kamailio 5.6 answers an AoR with no contacts with 500 "AOR not found".
    if (error instanceof EdgeRpcError && !error.retryable && /not found/i.test(error.message))
      return [];
    throw error;
  }
}

interface UlDump {
  Domains?: { Domain?: { AoRs?: { Info?: UlRecord }[] } }[];
}

/** Every registered user's contacts (`ul.dump`). */
export async function dumpContacts(rpc: EdgeRpc): Promise<Map<string, SipContact[]>> {
  const dump = await rpc.call<UlDump>('ul.dump');
  const out = new Map<string, SipContact[]>();
  for (const d of dump?.Domains ?? [])
    for (const a of d.Domain?.AoRs ?? []) {
      const aor = a.Info?.AoR;
      if (aor) out.set(aor, contactsOf(a.Info));
    }
  return out;
}

/** Digest failures and locks per "<user>|<source>" (the edge's authfail and authlock tables). */
function byUser(table: Map<string, string | number>) {
  const out = new Map<string, { source: string; value: number }[]>();
  for (const [key, value] of table) {
    const at = key.lastIndexOf('|');
    if (at < 0) continue;
    const user = key.slice(0, at);
    out.set(user, [...(out.get(user) ?? []), { source: key.slice(at + 1), value: Number(value) }]);
  }
  return out;
}

export async function lockState(rpc: EdgeRpc) {
  return {
    failures: byUser(await dumpHtable(rpc, 'authfail')),
    locks: byUser(await dumpHtable(rpc, 'authlock')),
  };
}

/**
 * At every edge poll: refill the edge's user table, and record what the edge knows (contacts,
 * failed attempts, locks) in the database, so every API process and the console see it.
 */
export function sipUsersEdgeTask(deps: {
  db: Db;
  box: SecretBox;
  lockSeconds: number;
  syncLivekit?: () => Promise<void>;
}): EdgePollTask {
  let livekitSyncedAt = 0;
  return {
    name: 'sip-users',
    async run(rpc) {
      // LiveKit's trunks change only with the users' agent profiles (the API syncs then): a
      // check a minute repairs a hand edit or a LiveKit that lost its state.
      if (deps.syncLivekit && Date.now() - livekitSyncedAt > 60_000) {
        livekitSyncedAt = Date.now();
        await deps.syncLivekit();
      }
      await syncSipUsers(deps.db, deps.box, rpc);
      const contacts = await dumpContacts(rpc);
      const { failures, locks } = await lockState(rpc);
      const users = await deps.db
        .selectFrom('sipUsers')
        .select([
          'id',
          'username',
          'contactInfo',
          'failedAuthAttempts',
          'accountLockedUntil',
          'registrationExpires',
        ])
        .execute();
      const now = new Date();
      for (const u of users) {
        const held = contacts.get(u.username) ?? [];
        const failed = (failures.get(u.username) ?? []).reduce((n, f) => n + f.value, 0);
        const lockedAt = Math.max(0, ...(locks.get(u.username) ?? []).map((l) => l.value));
        const lockedUntil = lockedAt > 0 ? new Date((lockedAt + deps.lockSeconds) * 1000) : null;
        const addresses = (list: unknown) =>
          JSON.stringify(((list as SipContact[] | null) ?? []).map((c) => c.contact).sort());
        const newContacts = addresses(u.contactInfo) !== addresses(held);
        const changed =
          newContacts ||
          u.failedAuthAttempts !== failed ||
          (u.accountLockedUntil?.getTime() ?? null) !== (lockedUntil?.getTime() ?? null);
        const latest = held
          .map((c) => c.expires_at)
          .sort()
          .at(-1);
        // A refresh moves the expiry: rewrite only then (not every poll for every phone).
        const refreshed =
          latest !== undefined &&
          Math.abs(Date.parse(latest) - (u.registrationExpires?.getTime() ?? 0)) > 5000;
        if (!changed && !refreshed) continue;
        await deps.db
          .updateTable('sipUsers')
          .set({
            contactInfo: JSON.stringify(held),
            failedAuthAttempts: failed,
            accountLockedUntil: lockedUntil,
            ...(held.length > 0
              ? {
                  lastSeen: now,
                  registrationExpires: latest ? new Date(latest) : null,
                  userAgent: held[0]!.user_agent,
                  ...(newContacts ? { lastRegistration: now } : {}),
                }
              : {}),
          })
          .where('id', '=', u.id)
          .execute();
      }
    },
  };
}
