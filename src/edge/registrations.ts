import { urlHost } from '../kernel/url-host.js';
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { Db, SecretBox } from '../db/index.js';
import { contactPrefix } from './kamailio-config.js';
import type { UacRecord } from './edge-state.js';

/** A trunk that asks to be registered, as the edge needs it. */
export interface WantedRegistration {
  id: string;
  slug: string;
  active: boolean;
  username: string;
  password: string;
  realm: string;
  /** host[:port] */
  registrar: string;
  transport: string;
  expiry: number;
  allowedAddresses: string[];
  /** MD5: the edge's uac registers; SHA-256 / SHA-512-256: the gateway does (self-registrations). */
  algorithm: string;
}

export async function loadWantedRegistrations(
  db: Db,
  box: SecretBox,
): Promise<WantedRegistration[]> {
  const rows = await db
    .selectFrom('trunks')
    .select([
      'id',
      'trunkId',
      'status',
      'username',
      'passwordEnc',
      'realm',
      'registrar',
      'proxyAddress',
      'proxyPort',
      'transport',
      'registerExpiry',
      'registerAlgorithm',
      'allowedAddresses',
    ])
    .where('register', '=', true)
    .orderBy('id')
    .execute();
  return rows.map((r) => {
    const proxyHost = r.proxyAddress && urlHost(r.proxyAddress);
    return {
      id: r.id,
      slug: r.trunkId,
      active: r.status === 'active' && Boolean(r.username && r.passwordEnc),
      username: r.username ?? '',
      password: r.passwordEnc ? box.decrypt(r.passwordEnc) : '',
      realm: r.realm ?? '',
      registrar: r.registrar ?? (r.proxyPort ? `${proxyHost}:${r.proxyPort}` : (proxyHost ?? '')),
      transport: r.transport,
      expiry: r.registerExpiry,
      allowedAddresses: r.allowedAddresses,
      algorithm: r.registerAlgorithm,
    };
  });
}

/** The To URI of our REGISTERs, which is how the edge keys the registrar's last reply. */
export function addressOfRecord(w: Pick<WantedRegistration, 'username' | 'registrar'>): string {
  return `sip:${w.username}@${w.registrar}`;
}

function authProxy(w: WantedRegistration): string {
  return `sip:${w.registrar}${w.transport === 'udp' ? '' : `;transport=${w.transport}`}`;
}

/** Parameters of uac.reg_add in Kamailio 5.6, in order. */
export function regAddParams(w: WantedRegistration, contactAddr: string): unknown[] {
  return [
    w.id,
    `${contactPrefix}${w.slug}`,
    contactAddr,
    w.username,
    w.registrar,
    w.realm,
    w.username,
    w.password,
    '',
    authProxy(w),
    w.expiry,
    0,
    0,
    '',
    '',
  ];
}

/** Whether the edge's record is the registration we want (else it is removed and re-added). */
export function recordMatches(record: UacRecord, w: WantedRegistration): boolean {
  return (
    record.l_username === `${contactPrefix}${w.slug}` &&
    record.r_username === w.username &&
    record.r_domain === w.registrar &&
    record.realm === w.realm &&
    record.auth_username === w.username &&
    record.auth_password === w.password &&
    record.auth_proxy === authProxy(w) &&
    record.expires === w.expiry
  );
}

/** The CIDR ranges among the trunks' allowed_addresses, normalised ("10.1.2.0/24"). */
export function providerNetworks(wanted: WantedRegistration[]): Set<string> {
  const out = new Set<string>();
  for (const w of wanted) {
    for (const a of w.allowedAddresses) {
      if (!a.includes('/') || !ipaddr.isValidCIDR(a)) continue;
      // The trunk API refuses ranges with host bits set, so the address is the network's.
      const [address, bits] = ipaddr.parseCIDR(a);
      out.add(`${address.toString()}/${bits}`);
    }
  }
  return out;
}

/**
 * Source addresses the edge accepts calls to a registration contact from: the registrar's
 * addresses (resolved) and the trunk's allowed_addresses that are single IPs (ranges: see
 * providerNetworks).
 */
export async function providerAddresses(wanted: WantedRegistration[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const w of wanted) {
    for (const a of await resolveRegistrar(w.registrar)) out.add(a);
    for (const a of w.allowedAddresses) if (!a.includes('/') && ipaddr.isValid(a)) out.add(a);
  }
  return out;
}

/** The registrar's (host[:port]) addresses now; none when it does not resolve. */
export async function resolveRegistrar(registrar: string): Promise<string[]> {
  const host = registrar.replace(/^\[([^\]]+)\].*$/, '$1').replace(/:\d+$/, '');
  try {
    if (ipaddr.isValid(host)) return [ipaddr.process(host).toString()];
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    // unresolvable now: the registration fails too and says so
    return [];
  }
}
