import ipaddr from 'ipaddr.js';
import type { GatewayConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import { dumpHtable, edgeDefaults, EdgeRpc } from '../edge/index.js';
import { lockState, lookupContacts, USER_FAIL_TABLE } from '../sipusers/index.js';
import { pass, type Finding } from './finding.js';

/** The edge's last refusal of a user: "<reason>|<unix time>|<source>|<detail>". */
function lastRefusal(value: string | number | undefined) {
  if (value === undefined) return undefined;
  const [reason = '', at = '0', source = '', detail = ''] = String(value).split('|');
  return { reason, at: new Date(Number(at) * 1000).toISOString(), source, detail };
}

const isPrivate = (host: string) => {
  const ip = host.replace(/:\d+$/, '');
  return (
    ipaddr.isValid(ip) &&
    ['private', 'uniqueLocal', 'carrierGradeNat'].includes(ipaddr.parse(ip).range())
  );
};

interface UserRow {
  username: string;
  realm: string;
  isActive: boolean;
  isBlocked: boolean;
  registrationExpires: Date | null;
}

/**
 * Why a SIP user cannot register (the REGISTER 403 guide's causes, per user): no such user,
 * inactive or blocked, locked out, realm mismatch, wrong password, registration expired, a
 * phone behind NAT. With `username`, that user; else every user with a problem.
 */
export async function checkSipUsers(
  config: GatewayConfig,
  db: Db,
  username?: string,
): Promise<Finding[]> {
  let query = db
    .selectFrom('sipUsers')
    .select(['username', 'realm', 'isActive', 'isBlocked', 'registrationExpires'])
    .orderBy('username');
  if (username) query = query.where('username', '=', username);
  const users: UserRow[] = await query.execute();
  if (!config.edge.enabled)
    return [
      {
        check: 'registration.sip_users',
        status: users.length > 0 ? 'fail' : 'pass',
        cause:
          users.length > 0
            ? 'SIP users exist but this gateway runs no SIP edge: nobody can register'
            : 'ok',
        evidence: 'EDGE_ENABLED=false',
        fix: users.length > 0 ? 'run the edge and set EDGE_ENABLED=true (docs/sip-users.md)' : '',
      },
    ];
  const rpc = new EdgeRpc(config.edge.rpcUrl, config.edge.rpcSecret, 2000);
  let refusals: Map<string, string | number>;
  let locks: Awaited<ReturnType<typeof lockState>>;
  try {
    refusals = await dumpHtable(rpc, USER_FAIL_TABLE);
    locks = await lockState(rpc);
  } catch (error) {
    return [
      {
        check: 'registration.sip_users',
        status: 'fail',
        cause: 'the SIP edge does not answer: SIP users cannot register',
        evidence: error instanceof Error ? error.message : String(error),
        fix: 'start Kamailio with the rendered edge config and check EDGE_RPC_URL',
      },
    ];
  }
  if (username && users.length === 0) {
    const tried = lastRefusal(refusals.get(username));
    return [
      {
        check: `registration.user.${username}`,
        status: 'fail',
        cause: `no SIP user named ${JSON.stringify(username)}: the edge challenges it forever (401)`,
        evidence: tried
          ? `a phone at ${tried.source} tried to register as ${username} at ${tried.at}`
          : 'no such row in sip_users',
        fix: 'create it (POST /api/sip-users) or correct the username in the phone',
      },
    ];
  }
  const findings: Finding[] = [];
  for (const u of users) {
    const f = await userFindings(config, rpc, u, lastRefusal(refusals.get(u.username)), locks);
    findings.push(...(username ? f : f.filter((x) => x.status !== 'pass')));
  }
  if (!username)
    findings.unshift(
      pass(
        'registration.sip_users',
        `${users.length} SIP user(s); ${findings.length} finding(s) about them`,
      ),
    );
  return findings;
}

async function userFindings(
  config: GatewayConfig,
  rpc: EdgeRpc,
  u: UserRow,
  refusal: ReturnType<typeof lastRefusal>,
  locks: Awaited<ReturnType<typeof lockState>>,
): Promise<Finding[]> {
  const check = `registration.user.${u.username}`;
  const out: Finding[] = [];
  if (u.isBlocked)
    out.push({
      check,
      status: 'fail',
      cause: 'the SIP user is blocked: the edge answers 403 "SIP user is blocked"',
      evidence: 'is_blocked=true',
      fix: `PUT /api/sip-users/${u.username} {"is_blocked": false}`,
    });
  else if (!u.isActive)
    out.push({
      check,
      status: 'fail',
      cause: 'the SIP user is inactive: the edge answers 403 "SIP user is inactive"',
      evidence: 'is_active=false',
      fix: `PUT /api/sip-users/${u.username} {"is_active": true}`,
    });
  for (const lock of locks.locks.get(u.username) ?? []) {
    const until = new Date((lock.value + edgeDefaults.lockSeconds) * 1000).toISOString();
    out.push({
      check,
      status: 'fail',
      cause: `locked out from ${lock.source} after repeated wrong passwords, until ${until} (other sources can still register)`,
      evidence: `edge authlock ${u.username}|${lock.source} since ${new Date(lock.value * 1000).toISOString()}`,
      fix: `fix the phone's password, then POST /api/sip-users/${u.username}/unlock`,
    });
  }
  if (refusal?.reason === 'wrong_password') {
    const failures = (locks.failures.get(u.username) ?? []).find(
      (f) => f.source === refusal.source,
    );
    out.push({
      check,
      status: 'fail',
      cause:
        'wrong password: the phone answers the digest challenge with a password that does not match (repeated 401s)',
      evidence: `last refused answer from ${refusal.source} at ${refusal.at}${failures ? `; ${failures.value} failed attempt(s) counting toward the lock` : ''}`,
      fix: `set the password in the phone, or give the user a new one (PUT /api/sip-users/${u.username} {"password": ...})`,
    });
  } else if (refusal?.reason === 'realm_mismatch') {
    out.push({
      check,
      status: 'fail',
      cause: `realm mismatch: the phone answers for realm ${JSON.stringify(refusal.detail)}, the user's realm is ${JSON.stringify(u.realm)} (often the server's IP typed as domain/realm)`,
      evidence: `refused REGISTER from ${refusal.source} at ${refusal.at}`,
      fix: `set the phone's realm/domain to ${u.realm}, or PUT realm and a new password together`,
    });
  } else if (refusal?.reason === 'wrong_aor') {
    out.push({
      check,
      status: 'fail',
      cause: `the phone registers the address of ${JSON.stringify(refusal.detail)} with ${u.username}'s credentials`,
      evidence: `refused REGISTER from ${refusal.source} at ${refusal.at}`,
      fix: "make the phone's user/identity equal to its authentication username",
    });
  } else if (refusal && ['no_qop', 'no_nc', 'unsupported_algorithm'].includes(refusal.reason)) {
    out.push({
      check,
      status: 'fail',
      cause: `the phone's digest answer is not one the edge accepts (${refusal.reason}): it needs qop=auth with MD5 or SHA-256`,
      evidence: `refused answer from ${refusal.source} at ${refusal.at}`,
      fix: 'update the phone firmware or choose MD5/SHA-256 digest with qop=auth',
    });
  }
  const contacts = await lookupContacts(rpc, u.username);
  if (contacts.length === 0) {
    const expired = u.registrationExpires && u.registrationExpires.getTime() < Date.now();
    out.push({
      check,
      status: out.length > 0 || expired ? 'fail' : 'warn',
      cause: expired
        ? `registration expired at ${u.registrationExpires!.toISOString()}: the phone stopped refreshing it (offline, or its REGISTERs no longer arrive)`
        : 'not registered: no phone holds a registration for this user',
      evidence: 'the edge holds no contact (ul.lookup)',
      fix: expired
        ? 'check the phone is online and reaches the edge; behind NAT keep its registration interval short'
        : `configure a phone with GET /api/sip-users/${u.username}/credentials`,
    });
  } else {
    for (const c of contacts) {
      const host = /@([^;>]+)/.exec(c.contact)?.[1] ?? '';
      if (isPrivate(host) && c.source && c.source !== host)
        out.push({
          check,
          status: 'warn',
          cause: `the phone is behind NAT: its contact ${host} is private; calls go to ${c.source}, which stays open only while the phone keeps its NAT binding`,
          evidence: `${c.contact} registered from ${c.source}, expires ${c.expires_at}`,
          fix: "keep the phone's registration interval (or keep-alives) under the NAT's UDP timeout, or use TCP",
        });
    }
    if (out.length === 0)
      out.push(
        pass(
          check,
          `registered: ${contacts.map((c) => `${c.contact} (expires ${c.expires_at})`).join(', ')}`,
        ),
      );
  }
  return out;
}
