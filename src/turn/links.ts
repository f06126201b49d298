import { createHmac, timingSafeEqual } from 'node:crypto';

export interface LinkClaims {
  room: string;
  identity: string | null;
  exp: number;
  /** The agent profile (id) sent into the room when the link is used. */
  agent_profile_id?: string | null;
}

/** A join link: base64url(claims).base64url(HMAC-SHA256(key, claims)). */
export function signJoinLink(key: Buffer, claims: LinkClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', key).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

/** The claims of a valid, unexpired link for `room`; undefined for anything else. */
export function verifyJoinLink(
  key: Buffer,
  link: string,
  room: string,
  now = Date.now(),
): LinkClaims | undefined {
  const [payload, mac] = link.split('.');
  if (!payload || !mac) return undefined;
  // Compare the encoded form: base64url decoding ignores the padding bits of the last
  // character, so a different string can decode to the same bytes.
  const expected = Buffer.from(createHmac('sha256', key).update(payload).digest('base64url'));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims;
    if (claims.room !== room || typeof claims.exp !== 'number' || claims.exp * 1000 < now)
      return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
