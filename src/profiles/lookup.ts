import type { Db } from '../db/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The agent profile `ref` names (its id or its name), or undefined when none does. */
export async function findAgentProfile(
  db: Db,
  ref: string,
): Promise<{ id: string; name: string } | undefined> {
  return db
    .selectFrom('agentProfiles')
    .select(['id', 'name'])
    .where((eb) => (UUID.test(ref) ? eb('id', '=', ref) : eb('name', '=', ref)))
    .executeTakeFirst();
}
