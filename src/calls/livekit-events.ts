import { DisconnectReason, ParticipantInfo_Kind, type ParticipantInfo } from '@livekit/protocol';
import type { WebhookEvent } from 'livekit-server-sdk';
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { serializeCall } from './serialize.js';
import { releaseCall } from '../queue/admission.js';
import { callsEnded } from './metrics.js';
import { ANSWERING_IDENTITY_PREFIX } from '../forwarding/identity.js';
import { INSTALLATION_ATTRIBUTE } from '../trunks/livekit-objects.js';
import { isOpenCallStatus, OPEN_CALL_STATUSES } from './statuses.js';

/** LiveKit's events that change call records; other verified events are stored only. */
export const callEventNames = new Set([
  'room_finished',
  'participant_joined',
  'participant_left',
  'participant_connection_aborted',
  'track_published',
]);

/**
 * A phone caller (SIP) or a web user (standard participant): each is a call. The participant
 * that makes LiveKit SIP answer a call to forward (src/forwarding) is neither.
 */
function isCaller(p: ParticipantInfo): boolean {
  if (p.identity.startsWith(ANSWERING_IDENTITY_PREFIX)) return false;
  return p.kind === ParticipantInfo_Kind.SIP || p.kind === ParticipantInfo_Kind.STANDARD;
}

/**
 * The installation a caller's call belongs to, as LiveKit carries it: the installation attribute
 * (set by the gateway's dispatch rules, dialled legs and web tokens), or for a SIP caller the
 * installation in the dispatch rule's marker, which LiveKit copies into the participant's
 * metadata (rules written before calls were marked carry it there only).
 */
function installationMark(p: ParticipantInfo): string | undefined {
  const attribute = p.attributes[INSTALLATION_ATTRIBUTE];
  if (attribute) return attribute;
  if (p.kind !== ParticipantInfo_Kind.SIP || !p.metadata.startsWith('{')) return undefined;
  try {
    const m = JSON.parse(p.metadata) as { managed_by?: unknown; installation?: unknown };
    if (typeof m.managed_by === 'string' && m.managed_by.startsWith('voice-gateway'))
      return typeof m.installation === 'string' ? m.installation : undefined;
  } catch {
    // metadata someone else set
  }
  return undefined;
}

/**
 * Whether a caller in a shared LiveKit is this installation's call (docs/architecture.md,
 * "Sharing one LiveKit"). A mark decides. Without one (a call placed or answered by a gateway
 * before calls were marked, or a participant whose token no gateway made), a SIP caller is ours
 * when we already hold its record or its LiveKit trunk (sip.trunkID) or dispatch rule
 * (sip.ruleID) is one of ours, and another's when it names a trunk or rule we do not hold; one
 * naming neither, and an unmarked web user, could be anyone's and is recorded, as before marks.
 */
export async function isOwnCaller(
  db: Db,
  roomName: string,
  p: ParticipantInfo,
  installation: string,
): Promise<boolean> {
  const mark = installationMark(p);
  if (mark !== undefined) return mark === installation;
  if (p.kind !== ParticipantInfo_Kind.SIP) return true;
  const record = await db
    .selectFrom('calls')
    .select('id')
    .where('roomName', '=', roomName)
    .where((eb) =>
      eb.or([
        eb('participantSid', '=', p.sid),
        eb.and([eb('participantSid', 'is', null), eb('participantIdentity', '=', p.identity)]),
      ]),
    )
    .executeTakeFirst();
  if (record) return true;
  const trunkId = p.attributes['sip.trunkID'];
  const ruleId = p.attributes['sip.ruleID'];
  if (!trunkId && !ruleId) return true;
  if (
    trunkId &&
    (await db
      .selectFrom('trunks')
      .select('id')
      .where((eb) =>
        eb.or([eb('livekitInboundId', '=', trunkId), eb('livekitOutboundId', '=', trunkId)]),
      )
      .executeTakeFirst())
  )
    return true;
  return Boolean(
    ruleId &&
    (await db
      .selectFrom('dispatchRules')
      .select('id')
      .where('livekitId', '=', ruleId)
      .executeTakeFirst()),
  );
}

function seconds(value: bigint | undefined): Date {
  return value ? new Date(Number(value) * 1000) : new Date();
}

/** Who ended the call, from LiveKit's disconnect reason. */
export function endOf(reason: DisconnectReason): { endReason: string; hungUpBy: string } {
  const name = (DisconnectReason[reason] ?? 'UNKNOWN_REASON').toLowerCase();
  switch (reason) {
    case DisconnectReason.CLIENT_INITIATED:
      return { endReason: 'caller_hangup', hungUpBy: 'caller' };
    case DisconnectReason.PARTICIPANT_REMOVED:
      return { endReason: 'removed', hungUpBy: 'agent' };
    case DisconnectReason.ROOM_DELETED:
    case DisconnectReason.ROOM_CLOSED:
      return { endReason: name, hungUpBy: 'agent' };
    default:
      return { endReason: name, hungUpBy: 'system' };
  }
}

/** What LiveKit SIP tells about the call in the participant's sip.* attributes. */
function sipDetails(p: ParticipantInfo) {
  const a = p.attributes;
  return {
    sipCallId: a['sip.callID'] || null,
    livekitTrunkId: a['sip.trunkID'] || null,
    remoteNumber: a['sip.phoneNumber'] || null,
    trunkNumber: a['sip.trunkPhoneNumber'] || null,
    callStatus: a['sip.callStatus'] || null,
    // Set by the SIP users' LiveKit trunk from the edge's X-VG-SIP-User (src/sipusers).
    sipUser: a['vg.sip_user'] || null,
  };
}

/**
 * The record of this participant: by its sid, or an outbound call POST /api/calls opened before
 * dialling (no sid yet, the identity it gave LiveKit SIP). Locked: an API hangup or a dial
 * failure closing the same record concurrently must not be overwritten by a stale read.
 */
async function openCallFor(tx: Tx, roomName: string, p: ParticipantInfo) {
  return tx
    .selectFrom('calls')
    .selectAll()
    .where('roomName', '=', roomName)
    .where((eb) =>
      eb.or([
        eb('participantSid', '=', p.sid),
        eb.and([eb('participantSid', 'is', null), eb('participantIdentity', '=', p.identity)]),
      ]),
    )
    .orderBy('startedAt', 'desc')
    .forUpdate()
    .executeTakeFirst();
}

/** Tells customers (endpoints and the call's own webhook_url) what happened to a call. */
async function notify(
  tx: Tx,
  callId: string,
  type: 'call.started' | 'call.answered' | 'call.ended',
) {
  const call = await tx
    .selectFrom('calls')
    .selectAll()
    .where('id', '=', callId)
    .executeTakeFirstOrThrow();
  await publish(
    tx,
    type,
    { call: serializeCall(call) },
    { callWebhookUrl: call.webhookUrl, callId },
  );
}

async function addEvent(tx: Tx, callId: string, at: Date, type: string, data: unknown = {}) {
  await tx
    .insertInto('callEvents')
    .values({ callId, at, type, data: JSON.stringify(data) })
    .execute();
}

/** Opens (or updates) the call record of a caller who joined a room. */
export async function callerJoined(
  tx: Tx,
  roomName: string,
  roomSid: string | null,
  p: ParticipantInfo,
  at: Date,
) {
  const existing = await openCallFor(tx, roomName, p);
  // Track events carry a partial participant (no kind): the record knows what the caller is.
  const isSip = existing ? existing.channel === 'sip' : p.kind === ParticipantInfo_Kind.SIP;
  const sip = isSip ? sipDetails(p) : undefined;
  // A SIP caller publishes audio while still ringing; only LiveKit SIP's status says answered.
  const answered = !sip || sip.callStatus === 'active';
  if (existing) {
    if (!existing.participantSid) {
      await tx
        .updateTable('calls')
        .set({
          participantSid: p.sid,
          roomSid: existing.roomSid ?? roomSid,
          sipCallId: existing.sipCallId ?? sip?.sipCallId ?? null,
          updatedAt: new Date(),
        })
        .where('id', '=', existing.id)
        .execute();
    }
    const open = isOpenCallStatus(existing.status);
    if (open && answered && !existing.answeredAt) await markAnswered(tx, existing.id, at);
    return existing.id;
  }
  let trunkId: string | null = null;
  let direction: 'inbound' | 'outbound' = 'inbound';
  if (sip?.livekitTrunkId) {
    const trunk = await tx
      .selectFrom('trunks')
      .select(['id', 'livekitOutboundId'])
      .where((eb) =>
        eb.or([
          eb('livekitInboundId', '=', sip.livekitTrunkId),
          eb('livekitOutboundId', '=', sip.livekitTrunkId),
        ]),
      )
      .executeTakeFirst();
    trunkId = trunk?.id ?? null;
    if (trunk?.livekitOutboundId === sip.livekitTrunkId) direction = 'outbound';
  }
  const id = randomUUID();
  const inserted = await tx
    .insertInto('calls')
    .values({
      id,
      sipCallId: sip?.sipCallId ?? null,
      roomName,
      roomSid,
      participantIdentity: p.identity,
      participantSid: p.sid,
      direction,
      channel: sip ? 'sip' : 'web',
      status: answered ? 'active' : 'ringing',
      trunkId,
      livekitTrunkId: sip?.livekitTrunkId ?? null,
      sipUser: sip?.sipUser ?? null,
      // Inbound: the remote party called our number. Outbound: we called the remote party.
      fromNumber:
        direction === 'inbound' ? (sip?.remoteNumber ?? null) : (sip?.trunkNumber ?? null),
      toNumber: direction === 'inbound' ? (sip?.trunkNumber ?? null) : (sip?.remoteNumber ?? null),
      startedAt: at,
      answeredAt: answered ? at : null,
    })
    .onConflict((oc) => oc.column('sipCallId').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return undefined;
  await addEvent(tx, id, at, 'joined', {
    identity: p.identity,
    call_status: sip?.callStatus ?? null,
  });
  await notify(tx, id, 'call.started');
  if (answered) await notify(tx, id, 'call.answered');
  return id;
}

/** Marks a call answered (LiveKit SIP reported it active) and tells customers. */
export async function markAnswered(tx: Tx, callId: string, at: Date) {
  await tx
    .updateTable('calls')
    .set({ status: 'active', answeredAt: at, updatedAt: new Date() })
    .where('id', '=', callId)
    .execute();
  await notify(tx, callId, 'call.answered');
}

/** Closes a caller's call record. */
export async function callerLeft(
  tx: Tx,
  roomName: string,
  p: ParticipantInfo,
  at: Date,
  type: string,
) {
  const call = await openCallFor(tx, roomName, p);
  // A warm transfer's human leaving is not the caller leaving: the caller keeps its place.
  if (!call?.parentCallId) await releaseCall(tx, roomName, 'caller_hangup');
  // A record the calls reconcile closed before this (late) event came takes the true reason.
  const closedByReconcile = call?.endReason === 'lost_end_event';
  if (!call || (!isOpenCallStatus(call.status) && !closedByReconcile)) return;
  const { endReason, hungUpBy } =
    type === 'participant_connection_aborted'
      ? { endReason: 'connection_aborted', hungUpBy: 'system' }
      : endOf(p.disconnectReason);
  await closeCall(tx, call, at, endReason, hungUpBy);
}

export async function closeCall(
  tx: Tx,
  call: { id: string; answeredAt: Date | null; startedAt: Date; direction: string },
  at: Date,
  endReason: string,
  hungUpBy: string,
) {
  await tx
    .updateTable('calls')
    .set({
      status: call.answeredAt ? 'ended' : 'failed',
      endedAt: at,
      durationSeconds: call.answeredAt
        ? Math.max(0, Math.round((at.getTime() - call.answeredAt.getTime()) / 1000))
        : 0,
      endReason,
      hungUpBy,
      updatedAt: new Date(),
    })
    .where('id', '=', call.id)
    .execute();
  await addEvent(tx, call.id, at, 'ended', { end_reason: endReason, hung_up_by: hungUpBy });
  await notify(tx, call.id, 'call.ended');
  callsEnded.inc({
    direction: call.direction,
    outcome: call.answeredAt ? 'ended' : 'failed',
    end_reason: endReason,
  });
}

/**
 * Applies one verified LiveKit event to the call records, in the caller's transaction. Another
 * installation's callers (isOwnCaller) are left alone: no record, no webhook, no hangup.
 */
export async function applyLivekitEvent(
  tx: Tx,
  event: WebhookEvent,
  installation: string,
): Promise<void> {
  const at = seconds(event.createdAt);
  const roomName = event.room?.name;
  if (!roomName) return;
  const p = event.participant;
  switch (event.event) {
    case 'participant_joined':
      if (p && isCaller(p)) {
        if (await isOwnCaller(tx, roomName, p, installation))
          await callerJoined(tx, roomName, event.room?.sid ?? null, p, at);
      } else if (p?.kind === ParticipantInfo_Kind.AGENT)
        await eventForRoom(tx, roomName, at, 'agent_joined', { identity: p.identity });
      return;
    case 'track_published':
      // The SIP participant publishes its audio once the call is answered. Track events carry
      // a partial participant (no kind, so an agent looks like a web user): they only update
      // the record participant_joined opened.
      if (p && isCaller(p) && (await openCallFor(tx, roomName, p))) {
        await callerJoined(tx, roomName, event.room?.sid ?? null, p, at);
      }
      return;
    case 'participant_left':
    case 'participant_connection_aborted':
      if (p && isCaller(p)) {
        if (await isOwnCaller(tx, roomName, p, installation))
          await callerLeft(tx, roomName, p, at, event.event);
      } else if (p?.kind === ParticipantInfo_Kind.AGENT)
        await eventForRoom(tx, roomName, at, 'agent_left', { identity: p.identity });
      return;
    case 'room_finished': {
      await releaseCall(tx, roomName, 'room_closed');
      const open = await openCallsInRoom(tx, roomName);
      for (const call of open) await closeCall(tx, call, at, 'room_closed', 'system');
      return;
    }
  }
}

async function openCallsInRoom(db: Db, roomName: string) {
  return db
    .selectFrom('calls')
    .select(['id', 'answeredAt', 'startedAt', 'direction'])
    .where('roomName', '=', roomName)
    .where('status', 'in', [...OPEN_CALL_STATUSES])
    .execute();
}

async function eventForRoom(tx: Tx, roomName: string, at: Date, type: string, data: unknown = {}) {
  const open = await openCallsInRoom(tx, roomName);
  for (const call of open) await addEvent(tx, call.id, at, type, data);
}
