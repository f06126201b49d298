import { e164OfSipUser } from '../blocklist/patterns.js';
import type { CallProfileAnswer, CallProfileRequest } from '../contract/index.js';
import type { Db } from '../db/index.js';
import { notFound } from '../errors/index.js';
import { isUuid } from '../kernel/uuid.js';

async function profileByRef(db: Db, ref: string) {
  return db
    .selectFrom('agentProfiles')
    .select(['id', 'name', 'settings'])
    .where((eb) => (isUuid(ref) ? eb('id', '=', ref) : eb('name', '=', ref)))
    .executeTakeFirst();
}

/**
 * The profile of an inbound call: the called number's `agent_profile_id` when it has one (and
 * belongs to the trunk the call came in on), else the dispatch rule's (404 when the rule names one that is gone), else none (the host's
 * offline profile). Decided per call, so a number's new profile answers its next call with no
 * LiveKit rule to rewrite.
 */
export async function profileForCall(
  db: Db,
  request: CallProfileRequest,
): Promise<CallProfileAnswer> {
  const number = e164OfSipUser(request.to_number ?? undefined);
  if (number) {
    let query = db
      .selectFrom('phoneNumbers')
      .innerJoin('trunks', 'trunks.id', 'phoneNumbers.trunkId')
      .innerJoin('agentProfiles', 'agentProfiles.id', 'phoneNumbers.agentProfileId')
      .select(['agentProfiles.id', 'agentProfiles.name', 'agentProfiles.settings'])
      .where('phoneNumbers.number', '=', number);
    if (request.livekit_trunk_id) {
      query = query.where('trunks.livekitInboundId', '=', request.livekit_trunk_id);
    }
    const owned = await query.executeTakeFirst();
    if (owned) return { profile: owned, source: 'number' };
  }
  if (request.rule_profile_id) {
    const profile = await profileByRef(db, request.rule_profile_id);
    // As before numbers named profiles: a rule naming a missing profile is the agent's failure.
    if (!profile) throw notFound('agent profile', request.rule_profile_id);
    return { profile, source: 'rule' };
  }
  return { profile: null, source: 'none' };
}
