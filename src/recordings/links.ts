import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 over "call id.expiry" (unix seconds), base64url. */
function mac(key: Buffer, callId: string, expires: number): string {
  return createHmac('sha256', key).update(`${callId}.${expires}`).digest('base64url');
}

/** The query of a signed recording link: ?expires=<unix s>&signature=<mac>. */
export function signRecordingLink(key: Buffer, callId: string, expires: number) {
  return { expires, signature: mac(key, callId, expires) };
}

export type LinkCheck = 'ok' | 'invalid' | 'expired';

/** Checks a link's signature (timing-safe) and then its expiry. */
export function checkRecordingLink(
  key: Buffer,
  callId: string,
  expires: unknown,
  signature: unknown,
  now = Date.now(),
): LinkCheck {
  if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return 'invalid';
  if (typeof signature !== 'string') return 'invalid';
  const expected = Buffer.from(mac(key, callId, Number(expires)));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return Number(expires) * 1000 < now ? 'expired' : 'ok';
}
