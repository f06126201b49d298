import { randomUUID } from 'node:crypto';
import type { Db } from '../db/index.js';
import { notFound } from '../errors/index.js';
import type { SipUser } from './serialize.js';
import { isUuid } from '../kernel/uuid.js';

/** API paths name a SIP user by its uuid or its username. */
export async function findSipUser(db: Db, ref: string): Promise<SipUser | undefined> {
  return db
    .selectFrom('sipUsers')
    .selectAll()
    .where(isUuid(ref) ? 'id' : 'username', '=', isUuid(ref) ? ref.toLowerCase() : ref)
    .executeTakeFirst();
}

export async function getSipUser(db: Db, ref: string): Promise<SipUser> {
  const user = await findSipUser(db, ref);
  if (!user) throw notFound('SIP user', ref);
  return user;
}

export const newSipUserId = () => randomUUID();
