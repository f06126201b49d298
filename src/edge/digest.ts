import { createHash, randomBytes } from 'node:crypto';

/**
 * SIP digest authentication on the client side (RFC 3261 §22, RFC 7616 and RFC 8760): MD5,
 * SHA-256 and SHA-512-256, with qop=auth when the server offers it. Written here because the
 * npm SIP libraries are browser user agents or unmaintained; this is the small part we need.
 */
export type DigestAlgorithm = 'MD5' | 'SHA-256' | 'SHA-512-256';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm | string;
  opaque?: string;
  qop?: string[];
  stale?: boolean;
}

const HASHES: Record<DigestAlgorithm, string> = {
  MD5: 'md5',
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
};

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASHES[algorithm]).update(text, 'utf8').digest('hex');
}

/** Splits `a=1, b="x, y", c` into pairs, respecting quoted strings. */
function authParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)\s*(?:,|$)/gy;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    params.set(m[1]!.toLowerCase(), m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!);
    if (re.lastIndex >= text.length) break;
  }
  return params;
}

/** A WWW-Authenticate or Proxy-Authenticate header value, if it is a Digest challenge. */
export function parseChallenge(value: string): DigestChallenge | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!match) return undefined;
  const p = authParams(match[1]!);
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  return {
    realm,
    nonce,
    algorithm: (p.get('algorithm') ?? 'MD5').toUpperCase(),
    opaque: p.get('opaque'),
    qop: p
      .get('qop')
      ?.split(',')
      .map((q) => q.trim().toLowerCase()),
    stale: p.get('stale')?.toLowerCase() === 'true',
  };
}

const STRENGTH: DigestAlgorithm[] = ['SHA-512-256', 'SHA-256', 'MD5'];

/**
 * The challenge to answer among several (RFC 8760 servers send one per algorithm): the one
 * with `wanted`, else the strongest we support.
 */
export function pickChallenge(
  challenges: DigestChallenge[],
  wanted?: DigestAlgorithm,
): (DigestChallenge & { algorithm: DigestAlgorithm }) | undefined {
  const order = wanted ? [wanted, ...STRENGTH.filter((a) => a !== wanted)] : STRENGTH;
  for (const algorithm of order) {
    const found = challenges.find((c) => c.algorithm === algorithm);
    if (found) return { ...found, algorithm };
  }
  return undefined;
}

export interface DigestCredentials {
  username: string;
  password: string;
}

/** The Authorization (or Proxy-Authorization) header value answering `challenge`. */
export function digestAuthorization(
  challenge: DigestChallenge & { algorithm: DigestAlgorithm },
  credentials: DigestCredentials,
  request: { method: string; uri: string },
  options: { cnonce?: string; nc?: number } = {},
): string {
  const { algorithm, realm, nonce } = challenge;
  const ha1 = hash(algorithm, `${credentials.username}:${realm}:${credentials.password}`);
  const ha2 = hash(algorithm, `${request.method}:${request.uri}`);
  const qop = challenge.qop?.includes('auth') ? 'auth' : undefined;
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = options.cnonce ?? randomBytes(12).toString('base64url');
  const response = qop
    ? hash(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`)
    : hash(algorithm, `${ha1}:${nonce}:${ha2}`);
  const quoted = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${quoted(credentials.username)}`,
    `realm=${quoted(realm)}`,
    `nonce=${quoted(nonce)}`,
    `uri=${quoted(request.uri)}`,
    `response=${quoted(response)}`,
    `algorithm=${algorithm}`,
  ];
  if (challenge.opaque !== undefined) parts.push(`opaque=${quoted(challenge.opaque)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quoted(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}
