import type { Logger } from '../config/index.js';
import type { PrismaClient } from '../db/index.js';
import type { SyncDeps, Tx } from './sync.js';

export interface TrunksDeps extends SyncDeps {
  logger: Logger;
  /** Where providers send calls: the public address of LiveKit SIP (or the SIP edge). */
  sipPublic: { host: string; port: number };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** API paths name a trunk by its uuid or its trunk_id slug. */
export function trunkWhere(idOrSlug: string): { id: string } | { trunkId: string } {
  return UUID.test(idOrSlug) ? { id: idOrSlug.toLowerCase() } : { trunkId: idOrSlug };
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export type Db = PrismaClient | Tx;
