import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ApiKey, ApiKeyRole, Db } from '../db/index.js';

export type Role = ApiKeyRole;
export const roles: Role[] = ['admin', 'operator', 'viewer'];

const KEY_PATTERN = /^vgk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** How long a verified key is trusted without asking the database again. */
const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 1000;
const cache = new Map<string, { record: ApiKey; expires: number }>();

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface CreatedApiKey {
  record: ApiKey;
  /** The whole key. Shown once; only its hash is stored. */
  key: string;
}

/** `vgk_<prefix>_<secret>`: the prefix finds the row, the sha256 of the whole key is compared. */
export async function createApiKey(db: Db, name: string, role: Role): Promise<CreatedApiKey> {
  const prefix = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const key = `vgk_${prefix}_${randomBytes(32).toString('base64url')}`;
  const record = await db
    .insertInto('apiKeys')
    .values({ id: randomUUID(), name, role, prefix, secretHash: hashKey(key) })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { record, key };
}

/**
 * The active key matching `presented`, compared in constant time; undefined otherwise. A key
 * verified in the last 10 s is answered from memory; a revocation made through this process
 * takes effect at once, one made elsewhere within those 10 s.
 */
export async function verifyApiKey(db: Db, presented: string): Promise<ApiKey | undefined> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return undefined;
  const digest = hashKey(presented);
  const cached = cache.get(digest);
  if (cached && cached.expires > Date.now()) return cached.record;
  const record = await db
    .selectFrom('apiKeys')
    .selectAll()
    .where('prefix', '=', match[1]!)
    .executeTakeFirst();
  if (!record || record.revokedAt) return undefined;
  const expected = Buffer.from(record.secretHash, 'hex');
  const actual = Buffer.from(digest, 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(digest, { record, expires: Date.now() + CACHE_TTL_MS });
  return record;
}

/** Drops cached verifications so a revoked key stops working in this process at once. */
export function forgetVerifiedKeys(): void {
  cache.clear();
}

/** Admin, operator, viewer: each role may do what the ones after it may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) <= roles.indexOf(needed);
}
