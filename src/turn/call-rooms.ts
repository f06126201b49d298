import { ParticipantInfo_Kind } from '@livekit/protocol';
import type { RoomServiceClient } from 'livekit-server-sdk';
import type { Db } from '../db/index.js';
import { livekitCall, LivekitError } from '../livekit/index.js';

/** Rooms of outbound calls (src/calls: outboundRoomName). */
const OUTBOUND_ROOM_PREFIX = 'call-out-';

/**
 * Identities no one may take through POST /api/rooms/:room/join: LiveKit SIP names its callers
 * `sip_<number>` and the dialled party of an outbound call `callee`; agents are `agent-<job>`.
 * LiveKit disconnects a participant when another joins under its identity, so taking one would
 * drop the caller or the agent and put the joiner in their place.
 */
export const RESERVED_IDENTITY = /^(sip[_-]|agent-|callee$)/i;
/** What a listener in a phone call's room is named: never the caller's or the agent's identity. */
export const MONITOR_PREFIX = 'monitor-';

export interface CallRoomDeps {
  db: Db;
  rooms: RoomServiceClient;
}

/**
 * Why `room` is a phone call's room, or undefined for a web room: a SIP call was recorded in
 * it, a dispatch rule or outbound calls name rooms like it (so a call may arrive in it later),
 * or a SIP participant is in it now (before the call record is written).
 */
export async function callRoomReason(
  deps: CallRoomDeps,
  room: string,
): Promise<string | undefined> {
  if (room.startsWith(OUTBOUND_ROOM_PREFIX))
    return 'outbound phone calls are put in rooms named like it';
  const recorded = await deps.db
    .selectFrom('calls')
    .select('id')
    .where('roomName', '=', room)
    .where('channel', '=', 'sip')
    .limit(1)
    .executeTakeFirst();
  if (recorded) return 'a phone call was recorded in it';
  const rules = await deps.db
    .selectFrom('dispatchRules')
    .select(['type', 'roomPrefix', 'roomName'])
    .execute();
  const ruled = rules.some((r) =>
    r.type === 'direct'
      ? r.roomName === room
      : r.roomPrefix !== '' && room.startsWith(r.roomPrefix),
  );
  if (ruled) return 'a dispatch rule puts phone calls in rooms named like it';
  const participants = await livekitCall(() => deps.rooms.listParticipants(room)).catch(
    (error: unknown) => {
      if (error instanceof LivekitError && error.kind === 'not_found') return [];
      throw error;
    },
  );
  if (participants.some((p) => p.kind === ParticipantInfo_Kind.SIP)) return 'a phone call is in it';
  return undefined;
}
