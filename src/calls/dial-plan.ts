import type { Db } from '../db/index.js';
import { GatewayError, invalidInput } from '../errors/index.js';
import { toE164 } from '../trunks/index.js';
import { findTrunk, type TrunkWithNumbers } from '../trunks/store.js';
import type { OutboundCallInput } from './outbound-input.js';

// The dial plan: which trunk, caller number and agent profile an outbound call uses, checked
// before dialling.

export function e164Field(field: string, value: string): string {
  const parsed = toE164(value);
  if (!parsed.ok)
    throw invalidInput(`${field}: ${parsed.error}`, [{ field, message: parsed.error }]);
  return parsed.e164;
}

export interface Route {
  trunk: TrunkWithNumbers & { livekitOutboundId: string };
  fromNumber: string | null;
  numberProfileId: string | null;
}

/** Which trunk dials and from which of our numbers; 400/409 naming what is missing. */
export async function resolveRoute(db: Db, input: OutboundCallInput): Promise<Route> {
  let trunk: TrunkWithNumbers | undefined;
  let fromNumber: string | null = null;
  let numberProfileId: string | null = null;
  if (input.from_number !== undefined) {
    fromNumber = e164Field('from_number', input.from_number);
    const owned = await db
      .selectFrom('phoneNumbers')
      .select(['trunkId', 'agentProfileId'])
      .where('number', '=', fromNumber)
      .executeTakeFirst();
    if (!owned) {
      const message = `${fromNumber} is not one of our numbers (see GET /api/numbers)`;
      throw invalidInput(`from_number: ${message}`, [{ field: 'from_number', message }]);
    }
    numberProfileId = owned.agentProfileId;
    trunk = await findTrunk(db, owned.trunkId);
    const named = input.trunk_id === undefined ? trunk : await findTrunk(db, input.trunk_id);
    if (trunk && named?.id !== trunk.id) {
      const message = `${fromNumber} belongs to trunk ${trunk.trunkId}, not ${input.trunk_id}`;
      throw invalidInput(`from_number: ${message}`, [{ field: 'from_number', message }]);
    }
  } else if (input.trunk_id !== undefined) {
    trunk = await findTrunk(db, input.trunk_id);
    if (!trunk) {
      const message = `trunk ${JSON.stringify(input.trunk_id)} does not exist`;
      throw invalidInput(`trunk_id: ${message}`, [{ field: 'trunk_id', message }]);
    }
    fromNumber = trunk.numbers[0] ?? null;
  }
  if (!trunk) throw invalidInput('trunk_id: no trunk given');
  if (trunk.status !== 'active') {
    throw new GatewayError(
      'trunk_inactive',
      `trunk ${trunk.trunkId} is inactive; activate it first`,
    );
  }
  if (!trunk.supportsOutbound) {
    throw new GatewayError(
      'trunk_not_outbound',
      `trunk ${trunk.trunkId} does not dial out (supports_outbound is false)`,
    );
  }
  if (!trunk.livekitOutboundId) {
    throw new GatewayError(
      'trunk_not_synced',
      `trunk ${trunk.trunkId} has no outbound trunk in LiveKit yet (sync state ${trunk.syncState}${trunk.syncError ? `: ${trunk.syncError}` : ''}); run POST /api/reconcile`,
    );
  }
  return {
    trunk: { ...trunk, livekitOutboundId: trunk.livekitOutboundId },
    fromNumber,
    numberProfileId,
  };
}

export async function resolveProfile(db: Db, input: OutboundCallInput, fallback: string | null) {
  const byId = input.agent_profile_id;
  const ref = byId ?? input.agent_profile_name;
  if (ref === undefined) return fallback;
  const profile = await db
    .selectFrom('agentProfiles')
    .select('id')
    .where(byId ? 'id' : 'name', '=', ref)
    .executeTakeFirst();
  if (!profile) {
    const field = byId ? 'agent_profile_id' : 'agent_profile_name';
    const message = `agent profile ${JSON.stringify(ref)} does not exist`;
    throw invalidInput(`${field}: ${message}`, [{ field, message }]);
  }
  return profile.id;
}
