import { ParticipantInfo_Kind } from '@livekit/protocol';
import type { RoomServiceClient } from 'livekit-server-sdk';
import type { Logger } from '../kernel/logger.js';
import { every } from '../kernel/periodic.js';
import type { Db } from '../db/index.js';
import { livekitCall } from '../livekit/index.js';
import { callerJoined, closeCall, isOwnCaller, markAnswered } from './livekit-events.js';
import { roomNodeLost } from './room-node.js';
import { OPEN_CALL_STATUSES } from './statuses.js';

/** A record this young may still be waiting for its room (src/calls/outbound.ts). */
const YOUNG_CALL_MS = 30_000;
/** Rooms whose node is checked at once (roomNodeLost). */
const PROBES_AT_ONCE = 10;

export interface CallsReconcileDeps {
  db: Db;
  rooms: RoomServiceClient;
  logger: Logger;
  /** This installation's id: another installation's callers are not recorded (isOwnCaller). */
  installation: string;
}

export interface CallsReconcileReport {
  /** Open records whose participant is no longer in LiveKit: their end event never came. */
  closed: number;
  /** Open records whose room was on a livekit-server node that died (closed too). */
  nodeLost: number;
  /** Callers in LiveKit rooms with no record: their start event never came. */
  opened: number;
}

/**
 * LiveKit drops webhooks it cannot deliver within 30 s, so call records are checked against
 * LiveKit's own room and participant lists.
 */
export async function reconcileCalls(deps: CallsReconcileDeps): Promise<CallsReconcileReport> {
  const rooms = await livekitCall(() => deps.rooms.listRooms());
  const present = new Map<string, Set<string>>();
  let opened = 0;
  for (const room of rooms) {
    const participants = await livekitCall(() => deps.rooms.listParticipants(room.name));
    const callers = participants.filter(
      (p) => p.kind === ParticipantInfo_Kind.SIP || p.kind === ParticipantInfo_Kind.STANDARD,
    );
    present.set(room.name, new Set(callers.map((p) => p.sid)));
    for (const p of callers) {
      const known = await deps.db
        .selectFrom('calls')
        .select(['id', 'answeredAt'])
        .where('roomName', '=', room.name)
        .where('participantSid', '=', p.sid)
        .executeTakeFirst();
      if (!known && !(await isOwnCaller(deps.db, room.name, p, deps.installation))) continue;
      if (known) {
        // LiveKit sends no webhook when sip.callStatus turns active; its live state says so.
        if (!known.answeredAt && p.attributes['sip.callStatus'] === 'active') {
          await deps.db.transaction().execute((tx) => markAnswered(tx, known.id, new Date()));
        }
        continue;
      }
      const joinedAt = p.joinedAt ? new Date(Number(p.joinedAt) * 1000) : new Date();
      const id = await deps.db
        .transaction()
        .execute((tx) => callerJoined(tx, room.name, room.sid, p, joinedAt));
      if (id) {
        await deps.db
          .insertInto('callEvents')
          .values({ callId: id, at: new Date(), type: 'recovered', data: '{}' })
          .execute();
        opened += 1;
      }
    }
  }
  const open = await deps.db
    .selectFrom('calls')
    .select(['id', 'roomName', 'participantSid', 'answeredAt', 'startedAt', 'direction'])
    .where('status', 'in', [...OPEN_CALL_STATUSES])
    .execute();
  let closed = 0;
  let nodeLost = 0;
  // Rooms of open calls whose node died: LiveKit still lists them with their participants.
  const lostRooms = new Set<string>();
  // A dead node's room takes LiveKit 3 s to give up on: ten probed at a time.
  const probed = [...new Set(open.map((c) => c.roomName))].filter(
    (name): name is string => !!name && present.has(name),
  );
  for (let i = 0; i < probed.length; i += PROBES_AT_ONCE) {
    const batch = probed.slice(i, i + PROBES_AT_ONCE);
    const lost = await Promise.all(batch.map((name) => roomNodeLost(deps.rooms, name)));
    batch.forEach((name, j) => lost[j] && lostRooms.add(name));
  }
  for (const call of open) {
    if (!call.roomName) continue;
    if (lostRooms.has(call.roomName)) {
      await deps.db
        .transaction()
        .execute((tx) => closeCall(tx, call, new Date(), 'livekit_node_lost', 'system'));
      nodeLost += 1;
      continue;
    }
    if (call.participantSid && present.get(call.roomName)?.has(call.participantSid)) continue;
    // An outbound call still dialling: its room exists, its participant's sid is not known yet.
    if (!call.participantSid && present.has(call.roomName)) continue;
    // One just placed: its record (its place) comes a moment before its room.
    if (!call.participantSid && Date.now() - call.startedAt.getTime() < YOUNG_CALL_MS) continue;
    await deps.db
      .transaction()
      .execute((tx) => closeCall(tx, call, new Date(), 'lost_end_event', 'unknown'));
    closed += 1;
  }
  if (closed + opened > 0) {
    deps.logger.warn(
      { closed, opened },
      'calls reconcile healed records whose LiveKit events were lost',
    );
  }
  if (nodeLost > 0) {
    deps.logger.warn(
      { nodeLost, rooms: lostRooms.size },
      'calls reconcile closed calls whose livekit-server node is gone',
    );
  }
  return { closed, opened, nodeLost };
}

/** Runs reconcileCalls every `intervalSeconds`. */
export function startCallsReconcileLoop(
  deps: CallsReconcileDeps,
  intervalSeconds: number,
): () => void {
  return every(intervalSeconds, () => reconcileCalls(deps), {
    logger: deps.logger,
    message: 'calls reconcile failed',
  });
}
