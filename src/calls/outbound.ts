import { randomUUID } from 'node:crypto';
import { RoomAgentDispatch, type SIPParticipantInfo } from 'livekit-server-sdk';
import { audit, type Actor } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import { livekitCall } from '../livekit/index.js';
import { toWireFormat } from '../trunks/phone.js';
import type { NumberFormat } from '../trunks/provider-presets.js';
import { publish } from '../webhooks/outbound/index.js';
import {
  finishCall,
  loadCall,
  outboundRoomName,
  SIP_USER_TARGET,
  type CallControlDeps,
} from './control.js';
import { serializeCall } from './serialize.js';
import { assertDestination } from './destinations.js';
import { checkOutboundPlace } from './outbound-places.js';
import { e164Field, resolveProfile, resolveRoute } from './dial-plan.js';
import { GatewayError } from '../errors/index.js';
import { placeSipUserCall } from './outbound-sip-user.js';
import { installationAttributes } from '../trunks/livekit-objects.js';
import { CALLEE_IDENTITY, type OutboundCallInput } from './outbound-input.js';
import { dialFailure, recordDialled, type NewCall } from './outbound-leg.js';

/**
 * The record, its first event, call.started to customers and the audit entry, together, once
 * the call has its place under the concurrency limits (the record is the place).
 */
async function recordNewCall(
  tx: Tx,
  call: NewCall,
  input: OutboundCallInput,
  actor: Actor,
  deps: Pick<CallControlDeps, 'agentName' | 'maxActiveCalls'>,
) {
  const { agentName } = deps;
  await checkOutboundPlace(tx, call.route.trunk, deps.maxActiveCalls);
  const row = await tx
    .insertInto('calls')
    .values({
      id: call.id,
      roomName: call.roomName,
      participantIdentity: CALLEE_IDENTITY,
      direction: 'outbound',
      channel: 'sip',
      status: 'ringing',
      trunkId: call.route.trunk.id,
      livekitTrunkId: call.route.trunk.livekitOutboundId,
      fromNumber: call.route.fromNumber,
      toNumber: call.toNumber,
      agentProfileId: call.agentProfileId,
      webhookUrl: input.webhook_url ?? null,
      startedAt: call.startedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await tx
    .insertInto('callEvents')
    .values({
      callId: call.id,
      at: call.startedAt,
      type: 'dialing',
      data: JSON.stringify({ agent_name: agentName, trunk_id: call.route.trunk.trunkId }),
    })
    .execute();
  await publish(
    tx,
    'call.started',
    { call: serializeCall(row) },
    { callWebhookUrl: row.webhookUrl, callId: call.id },
  );
  await audit(tx, actor, {
    action: 'call.create',
    entityType: 'call',
    entityId: call.id,
    details: {
      trunk_id: call.route.trunk.trunkId,
      room_name: call.roomName,
      agent_profile_id: call.agentProfileId,
      wait_until_answered: input.wait_until_answered,
    },
  });
}

/**
 * POST /api/calls: opens the room with the agent dispatched into it, records the call, then has
 * LiveKit SIP dial through the trunk. With wait_until_answered the answer (or the SIP failure)
 * is known when this returns.
 */
export async function placeOutboundCall(
  deps: CallControlDeps,
  input: OutboundCallInput,
  actor: Actor,
) {
  if (SIP_USER_TARGET.test(input.to_number)) return placeSipUserCall(deps, input, actor);
  const { db, logger } = deps;
  const toNumber = e164Field('to_number', input.to_number);
  const route = await resolveRoute(db, input);
  await assertDestination(deps, {
    trunkId: route.trunk.id,
    target: toNumber,
    field: 'to_number',
    actor,
    action: 'call.create',
  });
  const agentProfileId = await resolveProfile(db, input, route.numberProfileId);
  const cps = route.trunk.callsPerSecondLimit;
  const wait = cps ? await deps.callsPerSecond?.(route.trunk.id, cps) : undefined;
  if (wait !== undefined) {
    throw new GatewayError(
      'trunk_rate_limited',
      `trunk ${route.trunk.trunkId} places at most ${cps} calls per second (calls_per_second_limit); retry after ${wait} s`,
      { retry_after_seconds: wait },
    );
  }

  const id = randomUUID();
  const roomName = outboundRoomName(id);
  // The agent worker's contract: it reads this JSON; no secrets in it.
  const jobMetadata = JSON.stringify({
    agent_profile_id: agentProfileId,
    call_id: id,
    direction: 'outbound',
    to_number: toNumber,
    ...(input.recording !== undefined && { recording: input.recording }),
  });
  const call: NewCall = { id, roomName, route, toNumber, agentProfileId, startedAt: new Date() };
  // The place first (a refused call opens no room and sends no agent), then the room with the
  // agent in its configuration, so the agent is there on answer. The calls reconcile leaves a
  // young record without a room alone.
  await db.transaction().execute((tx) => recordNewCall(tx, call, input, actor, deps));
  // Sends the agent away; the room has no one else to serve.
  const dropRoom = () => deps.livekit.rooms.deleteRoom(roomName).catch(() => undefined);
  try {
    await livekitCall(() =>
      deps.livekit.rooms.createRoom({
        name: roomName,
        emptyTimeout: input.ringing_timeout_seconds + 30,
        metadata: JSON.stringify({ call_id: id }),
        agents: [new RoomAgentDispatch({ agentName: deps.agentName, metadata: jobMetadata })],
      }),
    );
  } catch (error) {
    const { apiError, end } = dialFailure(error, call, logger);
    await db.transaction().execute((tx) => finishCall(tx, id, end));
    await dropRoom();
    throw apiError;
  }

  logger.info(
    { callId: id, trunk: route.trunk.trunkId, pii: { to: toNumber, from: route.fromNumber } },
    'outbound call dialling',
  );
  const format = route.trunk.numberFormat as NumberFormat;
  let info: SIPParticipantInfo;
  try {
    info = await deps.livekit.sip.createSipParticipant(
      route.trunk.livekitOutboundId,
      toWireFormat(toNumber, format),
      roomName,
      {
        fromNumber: route.fromNumber ? toWireFormat(route.fromNumber, format) : undefined,
        participantIdentity: CALLEE_IDENTITY,
        participantName: CALLEE_IDENTITY,
        participantAttributes: {
          'voice_gateway.call_id': id,
          ...installationAttributes(deps.installation),
        },
        waitUntilAnswered: input.wait_until_answered,
        ringingTimeout: input.ringing_timeout_seconds,
        maxCallDuration: input.max_call_duration_seconds,
      },
    );
  } catch (error) {
    const { apiError, end } = dialFailure(error, call, logger);
    await db.transaction().execute((tx) => finishCall(tx, id, end));
    await dropRoom();
    throw apiError;
  }
  // LiveKit answered the request only once the callee picked up, when asked to wait.
  await db.transaction().execute((tx) => recordDialled(tx, id, info, input.wait_until_answered));
  return loadCall(db, id);
}
