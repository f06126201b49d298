import { randomUUID } from 'node:crypto';
import { RoomAgentDispatch, type SIPParticipantInfo } from 'livekit-server-sdk';
import { audit, type Actor } from '../audit/index.js';
import { GatewayError } from '../errors/index.js';
import { livekitCall } from '../livekit/index.js';
import { publish } from '../webhooks/outbound/index.js';
import {
  finishCall,
  loadCall,
  outboundRoomName,
  SIP_USER_TARGET,
  type CallControlDeps,
} from './control.js';
import { CALLEE_IDENTITY, type OutboundCallInput } from './outbound-input.js';
import { dialFailure, recordDialled, type NewCall } from './outbound-leg.js';
import { resolveProfile } from './dial-plan.js';
import { serializeCall } from './serialize.js';
import { installationAttributes } from '../trunks/livekit-objects.js';

/**
 * POST /api/calls to sip:<username>: LiveKit SIP dials the edge, which rings every registered
 * contact of the user (route TO_USER). Refused before anything is dialled when the user does
 * not exist, is blocked or inactive, has no registration, or is at its call limit.
 */
export async function placeSipUserCall(
  deps: CallControlDeps,
  input: OutboundCallInput,
  actor: Actor,
) {
  const { db, logger } = deps;
  if (!deps.sipUsers)
    throw new GatewayError(
      'edge_disabled',
      'calls to SIP users need the SIP edge (EDGE_ENABLED=true, docs/sip-users.md)',
    );
  const username = SIP_USER_TARGET.exec(input.to_number)![1]!;
  const target = await deps.sipUsers.prepare(username);
  const agentProfileId = await resolveProfile(db, input, target.agentProfileId);
  const id = randomUUID();
  const roomName = outboundRoomName(id);
  const startedAt = new Date();
  const jobMetadata = JSON.stringify({
    agent_profile_id: agentProfileId,
    call_id: id,
    direction: 'outbound',
    ...(input.recording !== undefined && { recording: input.recording }),
  });
  await db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('calls')
      .values({
        id,
        roomName,
        participantIdentity: CALLEE_IDENTITY,
        direction: 'outbound',
        channel: 'sip',
        status: 'ringing',
        livekitTrunkId: target.livekitOutboundId,
        fromNumber: null,
        toNumber: input.to_number,
        sipUser: username,
        agentProfileId,
        webhookUrl: input.webhook_url ?? null,
        startedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await tx
      .insertInto('callEvents')
      .values({
        callId: id,
        at: startedAt,
        type: 'dialing',
        data: JSON.stringify({ agent_name: deps.agentName, sip_user: username }),
      })
      .execute();
    await publish(
      tx,
      'call.started',
      { call: serializeCall(row) },
      { callWebhookUrl: row.webhookUrl, callId: id },
    );
    await audit(tx, actor, {
      action: 'call.create',
      entityType: 'call',
      entityId: id,
      details: { sip_user: username, room_name: roomName, agent_profile_id: agentProfileId },
    });
  });
  // dialFailure reads only the id and start of the call.
  const call = { id, startedAt } as NewCall;
  const dropRoom = () => deps.livekit.rooms.deleteRoom(roomName).catch(() => undefined);
  let info: SIPParticipantInfo;
  try {
    await livekitCall(() =>
      deps.livekit.rooms.createRoom({
        name: roomName,
        emptyTimeout: input.ringing_timeout_seconds + 30,
        metadata: JSON.stringify({ call_id: id }),
        agents: [new RoomAgentDispatch({ agentName: deps.agentName, metadata: jobMetadata })],
      }),
    );
    logger.info({ callId: id, pii: { sip_user: username } }, 'call to a SIP user dialling');
    info = await deps.livekit.sip.createSipParticipant(
      target.livekitOutboundId,
      username,
      roomName,
      {
        fromNumber: target.fromUser,
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
  await db.transaction().execute((tx) => recordDialled(tx, id, info, input.wait_until_answered));
  return loadCall(db, id);
}
