import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { audit, type Actor } from '../audit/index.js';
import { GatewayError } from '../errors/index.js';
import { DTMF_DIGITS, type ControlMessage } from '../livekit/control-protocol.js';
import { isOpen, loadCall, type CallControlDeps } from './control.js';
import { callAgent, tellAgent } from './hold.js';

export const dtmfSchema = z
  .object({
    digits: z.string().regex(DTMF_DIGITS, 'digits are 1 to 32 of 0-9, *, # and A-D'),
  })
  .strict();

/**
 * POST /api/calls/:id/dtmf: the call's agent sends the keys to the far end (LiveKit SIP makes
 * them RFC 2833 events); the API answers once the agent confirmed they were sent.
 */
export async function sendCallDtmf(
  deps: CallControlDeps,
  id: string,
  input: z.infer<typeof dtmfSchema>,
  actor: Actor,
) {
  const call = await loadCall(deps.db, id);
  const room = call.roomName;
  if (!isOpen(call) || !room) {
    throw new GatewayError('call_ended', `call ${call.id} already ended; keys go to live calls`);
  }
  if (call.status !== 'active') {
    throw new GatewayError('call_not_answered', `call ${call.id} is not answered yet`);
  }
  const agent = await callAgent(deps, room);
  if (!agent) {
    throw new GatewayError('no_agent', `call ${call.id} has no agent in its room to send keys`);
  }
  const message: ControlMessage = {
    action: 'dtmf',
    digits: input.digits,
    request_id: randomUUID(),
  };
  if (!(await tellAgent(deps, room, agent.identity, message))) {
    throw new GatewayError(
      'agent_timeout',
      `the agent of call ${call.id} did not confirm the keys were sent in time`,
    );
  }
  await deps.db.transaction().execute(async (tx) => {
    // The keys may be a PIN: the record keeps how many, not which.
    const data = JSON.stringify({ actor: actor.name, keys: input.digits.length });
    await tx
      .insertInto('callEvents')
      .values({ callId: call.id, at: new Date(), type: 'dtmf_sent', data })
      .execute();
    await audit(tx, actor, { action: 'call.dtmf', entityType: 'call', entityId: call.id });
  });
  return { call: await loadCall(deps.db, call.id), sent: input.digits.length };
}
