import type { Call } from '../db/index.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The API's view of a call record. Numbers and transcripts are personal data. */
export function serializeCall(call: Call) {
  return {
    id: call.id,
    sip_call_id: call.sipCallId,
    room_name: call.roomName,
    room_sid: call.roomSid,
    participant_identity: call.participantIdentity,
    direction: call.direction,
    channel: call.channel,
    status: call.status,
    trunk_id: call.trunkId,
    livekit_trunk_id: call.livekitTrunkId,
    from_number: call.fromNumber,
    /** The SIP user (username) that placed or received the call through the edge. */
    sip_user: call.sipUser,
    answered_by: call.answeredBy,
    /** A warm transfer's leg to the human: the caller's call it was dialled for. */
    parent_call_id: call.parentCallId,
    to_number: call.toNumber,
    agent_profile_id: call.agentProfileId,
    started_at: iso(call.startedAt),
    answered_at: iso(call.answeredAt),
    ended_at: iso(call.endedAt),
    duration_seconds: call.durationSeconds,
    end_reason: call.endReason,
    hung_up_by: call.hungUpBy,
  };
}

export const csvColumns = [
  'id',
  'started_at',
  'answered_at',
  'ended_at',
  'duration_seconds',
  'direction',
  'channel',
  'status',
  'from_number',
  'to_number',
  'trunk_id',
  'agent_profile_id',
  'end_reason',
  'hung_up_by',
  'room_name',
  'sip_call_id',
] as const;
