import { createHash, createHmac } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { packageRoot } from '../config/paths.js';
import { DEBIAN_KAMAILIO_MODULES } from '../config/schema.js';

/** User agents of known SIP scanners; the edge drops their requests without an answer. */
export const scannerUserAgents = [
  'friendly-scanner',
  'sipvicious',
  'sipcli',
  'vaxsipuseragent',
  'sip-scan',
  'sundayddr',
  'iwar',
  'pplsip',
  'smap',
  'sipptk',
  'nessus',
] as const;

/** Registration contacts are `sip:<prefix><trunk_id>@<contact address>`. */
export const contactPrefix = 'vgreg-';

export interface EdgeKamailioSettings {
  /** Where the edge takes SIP (providers send here). */
  sipListenIp: string;
  sipPort: number;
  /** host:port providers reach the edge at, when it differs from the listen address (NAT). */
  advertise?: string;
  /** JSON-RPC over HTTP for the gateway. */
  rpcIp: string;
  rpcPort: number;
  /**
   * The gateway's shared secret (EDGE_RPC_SECRET): JSON-RPC calls and relayed REGISTERs must
   * carry it in X-Edge-Token. The rendered config holds only its SHA-256.
   */
  rpcSecret: string;
  /** LiveKit SIP, where calls are relayed (an IP address). */
  livekitHost: string;
  livekitPort: number;
  /**
   * Several LiveKit SIP instances (IP addresses, EDGE_LIVEKIT_SIP_ADDRESS comma-separated): when
   * given, new calls are spread over these (Kamailio dispatcher, round-robin over those that
   * answer the OPTIONS probes) and livekitHost/livekitPort are ignored.
   */
  livekitInstances?: readonly LivekitSipInstance[];
  /** Seconds between the OPTIONS probes of each LiveKit SIP instance (EDGE_LIVEKIT_PROBE_SECONDS). */
  probeIntervalSeconds?: number;
  /**
   * host:port of the gateway's SMS listener (SMS_SIP_HOST:SMS_SIP_PORT), where admitted
   * MESSAGEs are handed on (docs/sms.md).
   */
  smsTarget?: string;
  /** Runtime folder: the rendered config and uac's (empty) db_text table. */
  dir: string;
  /** Kamailio's modules (KAMAILIO_MODULES_DIR; Debian's path by default). */
  modulesDir?: string;
  /** Seconds between uac's registration timer runs: refreshes happen within this of expiry. */
  regTimerInterval?: number;
  transactionTimeoutMs?: number;
  floodRequests?: number;
  floodWindowSeconds?: number;
  banSeconds?: number;
  lockAfterFailures?: number;
  lockSeconds?: number;
  authFailWindowSeconds?: number;
  /** Requests per second from one configured provider address before 503 (never a ban). */
  providerRequestsPerSecond?: number;
  /** Seconds a dialog the edge relays may last before it forgets it. */
  dialogTimeoutSeconds?: number;
  children?: number;
  logLevel?: number;
  /** The realm SIP users are challenged with when the From user is none of them. */
  sipUsersRealm?: string;
  /** Seconds a digest nonce stays valid (a phone then gets stale=true and answers anew). */
  nonceExpireSeconds?: number;
  /** Registration expiry bounds (a shorter ask gets 423) and the default. */
  registerMinExpires?: number;
  registerMaxExpires?: number;
  registerDefaultExpires?: number;
  /** Contacts one SIP user may hold (phones, apps, PBX lines). */
  registerMaxContacts?: number;
  /**
   * Challenge SIP users with MD5 first, then SHA-256. By default SHA-256 comes first (RFC 8760:
   * most preferred first), but phones that read only the first challenge and lack SHA-256
   * (sipp 3.6, older desk phones) then cannot register.
   */
  digestMd5First?: boolean;
  /**
   * The challenges SIP users get, most preferred first (overrides digestMd5First). `['MD5']`
   * is for phones that give up on a challenge they cannot answer instead of skipping it:
   * baresip 1.0 (libre 1.1, Debian 12) fails on any SHA-256 challenge in a 401.
   */
  digestAlgorithms?: readonly DigestAlgorithm[];
}

export type DigestAlgorithm = 'SHA-256' | 'MD5';

export interface LivekitSipInstance {
  host: string;
  port: number;
}

/** The LiveKit SIP instances the edge relays to: livekitInstances, or livekitHost:livekitPort. */
export function livekitInstancesOf(s: EdgeKamailioSettings): LivekitSipInstance[] {
  const list = s.livekitInstances?.length
    ? [...s.livekitInstances]
    : [{ host: s.livekitHost, port: s.livekitPort }];
  const seen = new Set<string>();
  for (const i of list) {
    if (!isIP(i.host))
      throw new Error(`LiveKit SIP address ${JSON.stringify(i.host)} is not an IP address`);
    if (!Number.isInteger(i.port) || i.port < 1 || i.port > 65535)
      throw new Error(`LiveKit SIP port ${i.port} of ${i.host} is not a port`);
    const key = `${i.host}:${i.port}`;
    if (seen.has(key)) throw new Error(`LiveKit SIP address ${key} is listed twice`);
    seen.add(key);
  }
  return list;
}

/** "ip:port,ip:port" (EDGE_LIVEKIT_SIP_ADDRESS) into instances; "[v6]:port" too. */
export function livekitInstancesFrom(text: string): LivekitSipInstance[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})$/.exec(part);
      if (!m) throw new Error(`EDGE_LIVEKIT_SIP_ADDRESS: ${JSON.stringify(part)} is not ip:port`);
      return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
    });
}

const uriHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** dispatcher.list: set 1, one line per LiveKit SIP instance. */
export function dispatcherList(s: EdgeKamailioSettings): string {
  return (
    '# setid destination flags priority attributes (rendered by src/edge/kamailio-config.ts)\n' +
    livekitInstancesOf(s)
      .map((i) => `1 sip:${uriHost(i.host)}:${i.port} 0 0 name=livekit-sip-${i.host}-${i.port}\n`)
      .join('')
  );
}

/** The algorithms of the edge's digest challenges, in order (none twice, at least one). */
export function digestChallengeOrder(s: EdgeKamailioSettings): DigestAlgorithm[] {
  const order = s.digestAlgorithms
    ? [...new Set(s.digestAlgorithms)]
    : s.digestMd5First
      ? (['MD5', 'SHA-256'] as const)
      : (['SHA-256', 'MD5'] as const);
  if (order.length === 0) throw new Error('digestAlgorithms: name at least one algorithm');
  return [...order];
}

/** EDGE_DIGEST_ALGORITHMS ("SHA-256,MD5", "MD5", ...) as a list; undefined when unset. */
export function digestAlgorithmsFrom(text: string | undefined): DigestAlgorithm[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.split(',').map((part) => {
    const alg = part.trim().toUpperCase();
    if (alg !== 'SHA-256' && alg !== 'MD5')
      throw new Error(`EDGE_DIGEST_ALGORITHMS: ${JSON.stringify(part)} is neither SHA-256 nor MD5`);
    return alg;
  });
}

function challengeHeaders(name: string, order: readonly DigestAlgorithm[]): string {
  return order.map((alg) => `${name}: Digest $var(params), algorithm=${alg}\\r\\n`).join('');
}

/** Defaults of the protection settings (issue 7): 5 digest failures lock a user for 30 minutes. */
export const edgeDefaults = {
  regTimerInterval: 20,
  transactionTimeoutMs: 5000,
  floodRequests: 30,
  floodWindowSeconds: 2,
  banSeconds: 300,
  lockAfterFailures: 5,
  lockSeconds: 1800,
  authFailWindowSeconds: 900,
  providerRequestsPerSecond: 100,
  dialogTimeoutSeconds: 14_400,
  children: 4,
  logLevel: 2,
  sipUsersRealm: 'sip.voice-gateway.local',
  nonceExpireSeconds: 300,
  registerMinExpires: 60,
  registerMaxExpires: 7200,
  registerDefaultExpires: 3600,
  registerMaxContacts: 10,
  probeIntervalSeconds: 10,
} as const;

function templateValues(s: EdgeKamailioSettings): Record<string, string> {
  const v = { ...edgeDefaults, ...stripUndefined(s) };
  const dbDir = path.join(s.dir, 'db');
  const instances = livekitInstancesOf(s);
  const first = instances[0]!;
  if (!Number.isInteger(v.probeIntervalSeconds) || v.probeIntervalSeconds < 1)
    throw new Error('probeIntervalSeconds: a whole number of seconds, at least 1');
  return {
    LOG_LEVEL: String(v.logLevel),
    CHILDREN: String(v.children),
    SIP_LISTEN_IP: s.sipListenIp,
    SIP_PORT: String(s.sipPort),
    SIP_ADVERTISE: s.advertise ? ` advertise ${s.advertise}` : '',
    RPC_IP: s.rpcIp,
    RPC_PORT: String(s.rpcPort),
    RPC_TOKEN_DIGEST: rpcTokenDigest(s.rpcSecret),
    PROVIDER_RATE: String(v.providerRequestsPerSecond),
    DIALOG_TIMEOUT: String(v.dialogTimeoutSeconds),
    MODULES_DIR: s.modulesDir ?? DEBIAN_KAMAILIO_MODULES,
    TRANSACTION_TIMEOUT_MS: String(v.transactionTimeoutMs),
    DB_DIR: dbDir,
    CONTACT_ADDR: s.advertise ?? `${s.sipListenIp}:${s.sipPort}`,
    REG_TIMER_INTERVAL: String(v.regTimerInterval),
    FLOOD_WINDOW: String(v.floodWindowSeconds),
    FLOOD_REQUESTS: String(v.floodRequests),
    BAN_SECONDS: String(v.banSeconds),
    AUTH_FAIL_WINDOW: String(v.authFailWindowSeconds),
    LOCK_SECONDS: String(v.lockSeconds),
    LOCK_AFTER: String(v.lockAfterFailures),
    SCANNER_PATTERN: scannerUserAgents.join('|'),
    LIVEKIT_HOST: uriHost(first.host),
    LIVEKIT_PORT: String(first.port),
    LIVEKIT_SOLE: instances.length === 1 ? '1' : '0',
    DISPATCHER_LIST: path.join(s.dir, 'dispatcher.list'),
    PING_INTERVAL: String(v.probeIntervalSeconds),
    CONTACT_PREFIX: contactPrefix,
    SIP_USERS_REALM: v.sipUsersRealm,
    NONCE_SECRET: createHmac('sha256', s.rpcSecret).update('edge digest nonces').digest('hex'),
    NONCE_EXPIRE: String(v.nonceExpireSeconds),
    TRANSFER_PREFIX: transferPrefix,
    TRANSFER_SECRET: transferKey(s.rpcSecret),
    NONCE_MEMORY: String(v.nonceExpireSeconds + 60),
    REG_MIN_EXPIRES: String(v.registerMinExpires),
    REG_MAX_EXPIRES: String(v.registerMaxExpires),
    REG_DEFAULT_EXPIRES: String(v.registerDefaultExpires),
    REG_MAX_CONTACTS: String(v.registerMaxContacts),
    WWW_CHALLENGES: challengeHeaders('WWW-Authenticate', digestChallengeOrder(s)),
    PROXY_CHALLENGES: challengeHeaders('Proxy-Authenticate', digestChallengeOrder(s)),
    SMS_TARGET: s.smsTarget ?? `${s.rpcIp}:5092`,
    SMS_TOKEN: smsEdgeToken(s.rpcSecret),
  };
}

/** Refer-To users of transfers to SIP users: `vgxfer-<expiry>.<signature>.<username>`. */
export const transferPrefix = 'vgxfer-';

function transferKey(secret: string): string {
  return createHmac('sha256', secret).update('edge transfers to SIP users').digest('hex');
}

/**
 * The user part of a Refer-To that makes the edge ring `username`'s phones for whoever sends
 * it (a trunk's provider following the agent's REFER), until `expiresAt` (unix seconds), once.
 * The edge recomputes the signature from the shared secret; nothing else can make one.
 */
export function signedTransferUser(secret: string, username: string, expiresAt: number): string {
  const signature = createHash('sha256')
    .update(`${transferKey(secret)}:${expiresAt}:${username}`)
    .digest('hex')
    .slice(0, 32);
  return `${transferPrefix}${expiresAt}.${signature}.${username}`;
}

/** What the edge compares an X-Edge-Token with (lower-case hex SHA-256). */
export function rpcTokenDigest(secret: string): string {
  // The header value is read up to the line end: a secret must be one printable token.
  if (!/^[\x21-\x7e]{16,}$/.test(secret))
    throw new Error('EDGE_RPC_SECRET must be at least 16 printable characters without spaces');
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * What the edge adds (X-Edge-Sms) to the MESSAGEs it hands to the gateway: derived from the
 * shared secret, so the rendered config never holds the secret itself, and this token is good
 * for nothing but submitting inbound SMS.
 */
export function smsEdgeToken(secret: string): string {
  rpcTokenDigest(secret);
  return createHmac('sha256', secret).update('voice-gateway sms-inbound').digest('hex');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** deploy/kamailio/edge.cfg with every {{NAME}} filled in; an unknown name is an error. */
export function renderEdgeConfig(settings: EdgeKamailioSettings, template?: string): string {
  const text =
    template ?? readFileSync(path.join(packageRoot(), 'deploy', 'kamailio', 'edge.cfg'), 'utf8');
  const values = templateValues(settings);
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new Error(`deploy/kamailio/edge.cfg: unknown placeholder ${name}`);
    return value;
  });
}

// uac's table layout in Kamailio 5.6 (version 5). The gateway never writes rows: it adds
// registrations over RPC, so no password is stored on disk.
const UACREG_COLUMNS =
  'id(int,auto) l_uuid(str) l_username(str) l_domain(str) r_username(str) r_domain(str) realm(str) auth_username(str) auth_password(str) auth_ha1(str,null) auth_proxy(str) expires(int) flags(int) reg_delay(int) contact_addr(str,null) socket(str,null)';

/**
 * Writes `<dir>/edge.cfg` and the empty uacreg table; returns the config path. The config holds
 * the nonce, transfer and SMS secrets: the directory and the file are for this user alone (a
 * directory left by an older run is tightened too).
 */
export function writeEdgeConfig(settings: EdgeKamailioSettings): string {
  const dbDir = path.join(settings.dir, 'db');
  mkdirSync(dbDir, { recursive: true, mode: 0o700 });
  chmodSync(settings.dir, 0o700);
  writeFileSync(path.join(dbDir, 'version'), 'table_name(str) table_version(int)\nuacreg:5\n');
  writeFileSync(path.join(dbDir, 'uacreg'), `${UACREG_COLUMNS}\n`);
  writeFileSync(path.join(settings.dir, 'dispatcher.list'), dispatcherList(settings));
  const file = path.join(settings.dir, 'edge.cfg');
  writeFileSync(file, renderEdgeConfig(settings), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
