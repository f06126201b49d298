import type { Tx } from '../db/index.js';
import { GatewayError } from '../errors/index.js';
import { lockAdmissions, openOutboundCalls } from '../queue/admission.js';
import type { Route } from './dial-plan.js';
import { OPEN_CALL_STATUSES } from './statuses.js';

/**
 * Checks that a new outbound call has a place, under the admission lock that inbound admissions
 * take too, in the transaction that then inserts its record: the record is the place, so ten
 * requests at once on a trunk limited to one call see each other and exactly one dials.
 * The trunk's max_concurrent_calls counts its open calls both ways; CALLS_MAX_ACTIVE counts
 * the calls the agents talk in: inbound calls holding places and open outbound calls.
 */
export async function checkOutboundPlace(
  tx: Tx,
  trunk: Route['trunk'],
  maxActive: number | undefined,
): Promise<void> {
  if (!trunk.maxConcurrentCalls && maxActive === undefined) return;
  await lockAdmissions(tx);
  if (trunk.maxConcurrentCalls) {
    const { open } = await tx
      .selectFrom('calls')
      .select((eb) => eb.fn.countAll<number>().as('open'))
      .where('trunkId', '=', trunk.id)
      .where('status', 'in', [...OPEN_CALL_STATUSES])
      .executeTakeFirstOrThrow();
    if (Number(open) >= trunk.maxConcurrentCalls) {
      throw new GatewayError(
        'trunk_call_limit',
        `trunk ${trunk.trunkId} already carries ${open} calls (max_concurrent_calls ${trunk.maxConcurrentCalls})`,
      );
    }
  }
  if (maxActive !== undefined) {
    const { held } = await tx
      .selectFrom('callSlots')
      .select((eb) => eb.fn.countAll<number>().as('held'))
      .where('state', '=', 'active')
      .executeTakeFirstOrThrow();
    const talking = Number(held) + (await openOutboundCalls(tx));
    if (talking >= maxActive) {
      throw new GatewayError(
        'calls_max_active',
        `the agents already talk in ${talking} calls (CALLS_MAX_ACTIVE ${maxActive})`,
      );
    }
  }
}
