import { createHmac, timingSafeEqual } from 'node:crypto';
import { digestAuthorization, type DigestChallenge } from '../edge/index.js';

/**
 * Digest auth for texts to a trunk with inbound credentials (inbound_username): for calls
 * LiveKit SIP challenges, for MESSAGE nobody behind the edge would, so the gateway does
 * (RFC 3261 §22, MD5 as providers use). Nonces are stateless: a time and its HMAC, good for
 * NONCE_TTL_MS, so any API process can check one another issued.
 */

const NONCE_TTL_MS = 5 * 60_000;
const REALM = 'voice-gateway';

export function issueNonce(key: string, now = Date.now()): string {
  const at = now.toString(36);
  return `${at}.${createHmac('sha256', key).update(`sms-nonce:${at}`).digest('base64url')}`;
}

function nonceValid(key: string, nonce: string, now = Date.now()): boolean {
  const [at] = nonce.split('.');
  if (!at || !/^[0-9a-z]+$/.test(at)) return false;
  const issued = parseInt(at, 36);
  if (!(issued <= now && now - issued <= NONCE_TTL_MS)) return false;
  const want = Buffer.from(issueNonce(key, issued));
  const got = Buffer.from(nonce);
  return want.length === got.length && timingSafeEqual(want, got);
}

export function challengeHeader(key: string): string {
  return `WWW-Authenticate: Digest realm="${REALM}", nonce="${issueNonce(key)}", algorithm=MD5, qop="auth"`;
}

function params(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(value); m; m = re.exec(value))
    out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  return out;
}

/** Whether `authorization` answers one of our nonces with the trunk's username and password. */
export function digestValid(
  key: string,
  authorization: string | undefined,
  credentials: { username: string; password: string },
): boolean {
  const m = /^\s*Digest\s+(.*)$/is.exec(authorization ?? '');
  if (!m) return false;
  const p = params(m[1]!);
  const nonce = p.get('nonce');
  const uri = p.get('uri');
  const response = p.get('response');
  const algorithm = (p.get('algorithm') ?? 'MD5').toUpperCase();
  if (!nonce || !uri || !response || algorithm !== 'MD5') return false;
  if (p.get('username') !== credentials.username || p.get('realm') !== REALM) return false;
  if (!nonceValid(key, nonce)) return false;
  const qop = p.get('qop');
  const challenge: DigestChallenge & { algorithm: 'MD5' } = {
    realm: REALM,
    nonce,
    algorithm: 'MD5',
    qop: qop ? [qop.toLowerCase()] : undefined,
  };
  const expected = digestAuthorization(
    challenge,
    credentials,
    { method: 'MESSAGE', uri },
    { cnonce: p.get('cnonce'), nc: p.has('nc') ? parseInt(p.get('nc')!, 16) : undefined },
  );
  const want = Buffer.from(/response="([^"]*)"/.exec(expected)?.[1] ?? '');
  const got = Buffer.from(response.toLowerCase());
  return want.length === got.length && timingSafeEqual(want, got);
}
