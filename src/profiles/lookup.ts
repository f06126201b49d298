import type { Db } from '../db/index.js';
import { isUuid } from '../kernel/uuid.js';

/** The agent profile `ref` names (its id or its name), or undefined when none does. */
export async function findAgentProfile(
  db: Db,
  ref: string,
): Promise<{ id: string; name: string } | undefined> {
  return db
    .selectFrom('agentProfiles')
    .select(['id', 'name'])
    .where((eb) => (isUuid(ref) ? eb('id', '=', ref) : eb('name', '=', ref)))
    .executeTakeFirst();
}
