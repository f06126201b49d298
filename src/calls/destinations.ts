import type { Actor } from '../audit/index.js';
import { audit } from '../audit/index.js';
import type { Db } from '../db/index.js';
import {
  bareHost,
  checkDestination,
  destinationOf,
  effectivePolicy,
  type DestinationPolicy,
  type TrunkDestinationPolicy,
} from '../destinations/index.js';
import { GatewayError } from '../errors/index.js';

/** The hosts of the gateway's trunks: sip: targets may name these (docs/security.md). */
async function trunkHosts(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('trunks').select(['proxyAddress', 'registrar']).execute();
  return rows.flatMap((r) =>
    [r.proxyAddress, r.registrar].filter((h): h is string => !!h).map(bareHost),
  );
}

/**
 * 403 destination_refused naming the rule, when the trunk's policy (or the global default)
 * refuses `target` ('+E.164', 'tel:+E.164' or a sip: URI). The refusal is audited.
 */
export async function assertDestination(
  deps: { db: Db; destinations: DestinationPolicy },
  check: {
    trunkId: string | null;
    target: string;
    field: string;
    actor: Actor;
    /** What was refused, for the audit log (call.create, call.transfer). */
    action: string;
    callId?: string;
  },
): Promise<void> {
  const destination = destinationOf(check.target);
  if (!destination) {
    throw new GatewayError('destination_refused', `${check.field}: not a number or SIP URI`, {
      rule: 'unreadable',
      field: check.field,
    });
  }
  const trunk = check.trunkId
    ? await deps.db
        .selectFrom('trunks')
        .select(['trunkId', 'destinationPolicy'])
        .where('id', '=', check.trunkId)
        .executeTakeFirst()
    : undefined;
  const policy = effectivePolicy(
    deps.destinations,
    trunk?.destinationPolicy as TrunkDestinationPolicy | null | undefined,
  );
  const hosts = destination.kind === 'sip' ? await trunkHosts(deps.db) : [];
  const verdict = checkDestination(destination, policy, hosts);
  if (verdict.allowed) return;
  await audit(deps.db, check.actor, {
    action: `${check.action}_refused`,
    entityType: check.callId ? 'call' : 'trunk',
    entityId: check.callId ?? trunk?.trunkId ?? null,
    details: { rule: verdict.rule, trunk_id: trunk?.trunkId ?? null },
  });
  throw new GatewayError('destination_refused', `${check.field}: ${verdict.message}`, {
    rule: verdict.rule,
    field: check.field,
    trunk_id: trunk?.trunkId ?? null,
    policy: trunk?.destinationPolicy ? 'trunk' : 'global',
  });
}
