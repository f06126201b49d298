import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKey, ApiKeyRole, PrismaClient } from '../db/index.js';

export type Role = ApiKeyRole;
export const roles: Role[] = ['admin', 'operator', 'viewer'];

const KEY_PATTERN = /^vgk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface CreatedApiKey {
  record: ApiKey;
  /** The whole key. Shown once; only its hash is stored. */
  key: string;
}

/** `vgk_<prefix>_<secret>`: the prefix finds the row, the sha256 of the whole key is compared. */
export async function createApiKey(
  prisma: Pick<PrismaClient, 'apiKey'>,
  name: string,
  role: Role,
): Promise<CreatedApiKey> {
  const prefix = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const key = `vgk_${prefix}_${randomBytes(32).toString('base64url')}`;
  const record = await prisma.apiKey.create({
    data: { name, role, prefix, secretHash: hashKey(key) },
  });
  return { record, key };
}

/** The active key matching `presented`, compared in constant time; undefined otherwise. */
export async function verifyApiKey(
  prisma: Pick<PrismaClient, 'apiKey'>,
  presented: string,
): Promise<ApiKey | undefined> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return undefined;
  const record = await prisma.apiKey.findUnique({ where: { prefix: match[1]! } });
  if (!record || record.revokedAt) return undefined;
  const expected = Buffer.from(record.secretHash, 'hex');
  const actual = Buffer.from(hashKey(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual)
    ? record
    : undefined;
}

/** Admin, operator, viewer: each role may do what the ones after it may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) <= roles.indexOf(needed);
}
