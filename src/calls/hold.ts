import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataPacket_Kind, ParticipantInfo_Kind, type ParticipantInfo } from '@livekit/protocol';
import { audit, type Actor } from '../audit/index.js';
import { GatewayError } from '../errors/index.js';
import { LivekitError, livekitCall } from '../livekit/index.js';
import {
  ACK_ATTRIBUTE,
  CONTROL_TOPIC,
  HOLD_ATTRIBUTE,
  type ControlMessage,
} from '../livekit/control-protocol.js';
import { publish } from '../webhooks/outbound/index.js';
import { isOpen, loadCall, type CallControlDeps } from './control.js';

/** How long the API waits for the agent to confirm a hold or resume before answering 504. */
export const HOLD_ACK_TIMEOUT_MS = 8_000;
const POLL_MS = 150;
/** Long enough for a few keys (250 ms apart) to be sent and acknowledged before a resend. */
const RESEND_MS = 2_000;

type HoldAction = 'hold' | 'resume';

export async function callAgent(
  deps: CallControlDeps,
  room: string,
): Promise<ParticipantInfo | undefined> {
  try {
    const participants = await livekitCall(() => deps.livekit.rooms.listParticipants(room));
    return participants.find((p) => p.kind === ParticipantInfo_Kind.AGENT);
  } catch (error) {
    if (error instanceof LivekitError && error.kind === 'not_found') return undefined;
    throw error;
  }
}

/**
 * Sends a control message to the call's agent over the room's data channel and waits for its
 * acknowledgement; false when none came within the timeout. LiveKit drops server data for a
 * participant that has joined but is not active yet (ErrDataChannelUnavailable, not reported
 * to the sender), so the message is sent again every RESEND_MS until acknowledged; the agent
 * carries out each request id once.
 */
export async function tellAgent(
  deps: CallControlDeps,
  room: string,
  identity: string,
  message: ControlMessage,
): Promise<boolean> {
  const payload = Buffer.from(JSON.stringify(message));
  const deadline = Date.now() + HOLD_ACK_TIMEOUT_MS;
  let resendAt = 0;
  while (Date.now() < deadline) {
    if (Date.now() >= resendAt) {
      resendAt = Date.now() + RESEND_MS;
      await livekitCall(() =>
        deps.livekit.rooms.sendData(room, payload, DataPacket_Kind.RELIABLE, {
          destinationIdentities: [identity],
          topic: CONTROL_TOPIC,
        }),
      );
    }
    await sleep(POLL_MS);
    const agent = await livekitCall(() => deps.livekit.rooms.getParticipant(room, identity)).catch(
      () => undefined,
    );
    if (agent?.attributes[ACK_ATTRIBUTE] === message.request_id) return true;
  }
  return false;
}

/**
 * POST /api/calls/:id/hold and /resume: the API asks the call's agent over LiveKit (a data
 * packet to the agent alone) and answers once the agent confirmed through its attributes.
 */
export async function setCallHold(
  deps: CallControlDeps,
  id: string,
  action: HoldAction,
  actor: Actor,
) {
  const call = await loadCall(deps.db, id);
  const room = call.roomName;
  if (!isOpen(call) || !room) {
    throw new GatewayError(
      'call_ended',
      `call ${call.id} already ended; only live calls ${action}`,
    );
  }
  if (call.status !== 'active') {
    throw new GatewayError(
      'call_not_answered',
      `call ${call.id} is not answered yet; only answered calls can be put on hold`,
    );
  }
  const agent = await callAgent(deps, room);
  if (!agent) {
    throw new GatewayError(
      'no_agent',
      `call ${call.id} has no agent in its room; hold and resume are carried out by the agent`,
    );
  }
  const held = agent.attributes[HOLD_ATTRIBUTE] === 'on';
  if (action === 'hold' && held) {
    throw new GatewayError('already_on_hold', `call ${call.id} is already on hold`);
  }
  if (action === 'resume' && !held) {
    throw new GatewayError('not_on_hold', `call ${call.id} is not on hold; nothing to resume`);
  }
  const message: ControlMessage = { action, request_id: randomUUID() };
  if (!(await tellAgent(deps, room, agent.identity, message))) {
    throw new GatewayError(
      'agent_timeout',
      `the agent of call ${call.id} did not confirm the ${action} within ${HOLD_ACK_TIMEOUT_MS} ms`,
    );
  }
  await deps.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('callEvents')
      .values({
        callId: call.id,
        at: new Date(),
        type: action,
        data: JSON.stringify({ actor: actor.name }),
      })
      .execute();
    await audit(tx, actor, { action: `call.${action}`, entityType: 'call', entityId: call.id });
    await publish(
      tx,
      action === 'hold' ? 'call.hold' : 'call.resume',
      { call_id: call.id, at: new Date().toISOString() },
      { callWebhookUrl: call.webhookUrl, callId: call.id },
    );
  });
  deps.logger.info({ callId: call.id, action }, 'call hold changed through the API');
  return { call: await loadCall(deps.db, call.id), held: action === 'hold' };
}
