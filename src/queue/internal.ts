import { z } from 'zod';
import { e164OfSipUser } from '../blocklist/patterns.js';

/** As the SIP participant's attribute gives it: '+' and its digits, or null if it is no number. */
const sipNumber = z.string().max(40).transform(e164OfSipUser);

/** POST /internal/agent/calls/admit: the call as the agent sees its SIP participant. */
export const admissionRequestSchema = z
  .object({
    room_name: z.string().min(1).max(200),
    /** sip.trunkID: LiveKit's inbound trunk id. */
    livekit_trunk_id: z.string().max(100).nullable().optional(),
    /** sip.trunkPhoneNumber (called) and sip.phoneNumber (caller); digits get a '+'. */
    to_number: sipNumber.nullable().optional(),
    from_number: sipNumber.nullable().optional(),
    agent_profile_id: z.uuid().nullable().optional(),
    /** The call is talking already (an admitted call's heartbeat): it is never queued. */
    in_call: z.boolean().optional(),
  })
  .strict()
  .transform((b) => ({
    roomName: b.room_name,
    livekitTrunkId: b.livekit_trunk_id,
    toNumber: b.to_number,
    fromNumber: b.from_number,
    agentProfileId: b.agent_profile_id,
    inCall: b.in_call ?? false,
  }));
