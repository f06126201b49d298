import type { Actor } from '../audit/index.js';
import { assertDestination } from '../calls/destinations.js';
import { transferTarget } from '../calls/transfer-target.js';
import type { Forwarding } from '../forwarding/schema.js';
import type { TrunksDeps } from './deps.js';

/**
 * A forwarding as stored: its target read as a transfer target (400 naming forwarding.to) and
 * passed by the destination policy of each trunk its calls come in on (403, as a transfer to it would be).
 * A refusal's audit entry is written outside the caller's transaction, which rolls back.
 */
export async function checkedForwarding(
  deps: TrunksDeps,
  trunkIds: string[],
  forwarding: Forwarding | null | undefined,
  actor: Actor,
  /** Audited as `<action>_refused` when the policy refuses the target. */
  action: 'number.forwarding' | 'dispatch_rule.forwarding',
): Promise<Forwarding | null | undefined> {
  if (!forwarding) return forwarding;
  const to = transferTarget(forwarding.to, 'forwarding.to');
  for (const trunkId of deps.destinations ? trunkIds : []) {
    await assertDestination(
      { db: deps.db, destinations: deps.destinations! },
      { trunkId, target: to, field: 'forwarding.to', actor, action },
    );
  }
  return { ...forwarding, to };
}
