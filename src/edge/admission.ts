import ipaddr from 'ipaddr.js';
import type { Db } from '../db/index.js';
import { dumpHtable, deleteHtableKey } from './edge-state.js';
import { resolveRegistrar } from './registrations.js';
import type { EdgeRpc } from './rpc.js';

/**
 * What the edge needs to decide whom it relays to LiveKit (deploy/kamailio/edge.cfg, route
 * ADMIT): per htable, key -> value. Numbers are keyed by their digits, as the edge reads them.
 */
export type AdmissionTables = Record<AdmissionTable, Map<string, string | number>>;

export const admissionTables = [
  'numtrunk',
  'anytrunk',
  'regcontact',
  'trunkadm',
  'srcaddr',
  'srcnet',
  'registrar',
] as const;
type AdmissionTable = (typeof admissionTables)[number];

interface InboundTrunk {
  id: string;
  allowedAddresses: string[];
  inboundUsername: string | null;
  callsPerSecondLimit: number | null;
  preferredCodecs: string[];
  register: boolean;
  registrar: string | null;
  proxyAddress: string | null;
  proxyPort: number | null;
  numbers: string[];
}

async function loadInboundTrunks(db: Db): Promise<InboundTrunk[]> {
  const trunks = await db
    .selectFrom('trunks')
    .select([
      'id',
      'allowedAddresses',
      'inboundUsername',
      'callsPerSecondLimit',
      'preferredCodecs',
      'register',
      'registrar',
      'proxyAddress',
      'proxyPort',
    ])
    .where('status', '=', 'active')
    .where('supportsInbound', '=', true)
    .orderBy('id')
    .execute();
  const numbers = await db.selectFrom('phoneNumbers').select(['number', 'trunkId']).execute();
  return trunks.map((t) => ({
    ...t,
    numbers: numbers.filter((n) => n.trunkId === t.id).map((n) => n.number),
  }));
}

/** host:port as the edge keys a registrar ($rd:port of the REGISTER's request URI). */
export function registrarKey(registrar: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(registrar);
  return `${(m?.[1] ?? registrar).toLowerCase()}:${m?.[2] ?? '5060'}`;
}

/** The tables for these trunks; a registering trunk also admits its registrar's addresses. */
export async function buildAdmission(trunks: InboundTrunk[]): Promise<AdmissionTables> {
  const t: AdmissionTables = {
    numtrunk: new Map(),
    anytrunk: new Map(),
    regcontact: new Map(),
    trunkadm: new Map(),
    srcaddr: new Map(),
    srcnet: new Map(),
    registrar: new Map(),
  };
  const allNets = new Set<string>();
  for (const trunk of trunks) {
    for (const n of trunk.numbers) t.numtrunk.set(n.replace(/\D/g, ''), trunk.id);
    if (trunk.numbers.length === 0) t.anytrunk.set(trunk.id, 1);
    // Digest auth alone admits any source (LiveKit challenges); with allowed_addresses too, the
    // source must match as well, as LiveKit would require if the caller reached it directly.
    if (trunk.inboundUsername && trunk.allowedAddresses.length === 0)
      t.trunkadm.set(`${trunk.id}::auth`, 1);
    if (trunk.callsPerSecondLimit) t.trunkadm.set(`${trunk.id}::cps`, trunk.callsPerSecondLimit);
    if (trunk.preferredCodecs.length > 0)
      t.trunkadm.set(`${trunk.id}::codecs`, trunk.preferredCodecs.join(','));
    const ips = new Set<string>();
    const nets: string[] = [];
    for (const a of trunk.allowedAddresses) {
      if (a.includes('/') && ipaddr.isValidCIDR(a)) nets.push(a);
      else if (ipaddr.isValid(a)) ips.add(ipaddr.process(a).toString());
    }
    const registrar =
      trunk.registrar ??
      (trunk.proxyAddress
        ? `${trunk.proxyAddress}${trunk.proxyPort ? `:${trunk.proxyPort}` : ''}`
        : '');
    if (trunk.register && registrar) {
      for (const ip of await resolveRegistrar(registrar)) ips.add(ip);
      t.registrar.set(registrarKey(registrar), 1);
      t.regcontact.set(trunk.id, 1);
    }
    for (const ip of ips) {
      t.trunkadm.set(`${trunk.id}::ip::${ip}`, 1);
      t.srcaddr.set(ip, 1);
    }
    if (nets.length > 0) t.trunkadm.set(`${trunk.id}::nets`, nets.join(','));
    for (const n of nets) allNets.add(n);
  }
  if (allNets.size > 0) t.srcnet.set('nets', [...allNets].join(','));
  return t;
}

/** Makes one htable equal to `wanted`: sets what differs, deletes what is not wanted. */
export async function syncTable(rpc: EdgeRpc, table: string, wanted: Map<string, string | number>) {
  const present = await dumpHtable(rpc, table);
  for (const key of present.keys()) if (!wanted.has(key)) await deleteHtableKey(rpc, table, key);
  for (const [key, value] of wanted) {
    if (present.has(key) && String(present.get(key)) === String(value)) continue;
    await rpc.call(typeof value === 'number' ? 'htable.seti' : 'htable.sets', [table, key, value]);
  }
}

/**
 * Pushes the admission tables from the database to the edge (at every poll and after each
 * trunk or number change). Revocations go first, so a narrowed trunk never admits the old
 * sources for longer than the push takes.
 */
export async function syncAdmission(db: Db, rpc: EdgeRpc): Promise<void> {
  const tables = await buildAdmission(await loadInboundTrunks(db));
  for (const name of admissionTables) await syncTable(rpc, name, tables[name]);
}
