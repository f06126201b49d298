import { z } from 'zod';
import { e164OfSipUser } from '../blocklist/patterns.js';
import { admitRequestSchema } from '../contract/index.js';

/** As the SIP participant's attribute gives it: '+' and its digits, or null if it is no number. */
const sipNumber = z.string().max(80).transform(e164OfSipUser);

/** POST /internal/agent/calls/admit (src/contract), with the numbers read as E.164. */
export const admissionRequestSchema = admitRequestSchema
  .extend({
    /** sip.trunkPhoneNumber (called) and sip.phoneNumber (caller); digits get a '+'. */
    to_number: sipNumber.nullable().optional(),
    from_number: sipNumber.nullable().optional(),
  })
  .transform((b) => ({
    roomName: b.room_name,
    livekitTrunkId: b.livekit_trunk_id,
    livekitRuleId: b.livekit_rule_id,
    toNumber: b.to_number,
    fromNumber: b.from_number,
    agentProfileId: b.agent_profile_id,
    inCall: b.in_call ?? false,
  }));
