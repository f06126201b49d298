import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The one form of the shared TURN secret the API, coturn and LiveKit must all use: surrounding
 * whitespace and any CR/LF removed (a secret read from a file or .env often ends in one, and the
 * HMAC then differs from coturn's: the classic TURN 401).
 */
export function normaliseTurnSecret(raw: string): string {
  return raw.replace(/[\r\n]/g, '').trim();
}

/** TURN_SECRET, or the file TURN_SECRET_FILE names; read once at start. */
export function readTurnSecret(
  secret: string | undefined,
  file: string | undefined,
): string | undefined {
  const raw = secret ?? (file ? readFileSync(file, 'utf8') : undefined);
  if (raw === undefined) return undefined;
  const normalised = normaliseTurnSecret(raw);
  if (normalised.length < 16) throw new Error('TURN secret must have at least 16 characters');
  return normalised;
}

export interface TurnCredentials {
  /** `<expiry unix seconds>:<user>` (coturn use-auth-secret, the TURN REST API). */
  username: string;
  /** base64(HMAC-SHA1(secret, username)). */
  credential: string;
  ttlSeconds: number;
  expiresAt: Date;
}

export function turnCredentialFor(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** Short-lived TURN credentials for `user`, valid for `ttlSeconds` from `now`. */
export function issueTurnCredentials(
  secret: string,
  user: string,
  ttlSeconds: number,
  now: Date = new Date(),
): TurnCredentials {
  const expiry = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const username = `${expiry}:${user.replace(/:/g, '_')}`;
  return {
    username,
    credential: turnCredentialFor(secret, username),
    ttlSeconds,
    expiresAt: new Date(expiry * 1000),
  };
}
