import { z } from 'zod';

/**
 * POST /internal/agent/calls/admit: the call as the host sees its SIP participant. The API
 * reads the numbers as E.164 (src/queue/internal.ts).
 */
export const admitRequestSchema = z
  .object({
    room_name: z.string().min(1).max(200),
    /** sip.trunkID: LiveKit's inbound trunk id. */
    livekit_trunk_id: z.string().max(100).nullable().optional(),
    /** sip.ruleID: the LiveKit dispatch rule that took the call (its forwarding applies). */
    livekit_rule_id: z.string().max(100).nullable().optional(),
    /**
     * sip.trunkPhoneNumber (called) and sip.phoneNumber (caller). A SIP user's call is to
     * `vgusers-<profile uuid>` (44 characters) and from its username.
     */
    to_number: z.string().max(80).nullable().optional(),
    from_number: z.string().max(80).nullable().optional(),
    agent_profile_id: z.uuid().nullable().optional(),
    /** The call is talking already (an admitted call's heartbeat): it is never queued. */
    in_call: z.boolean().optional(),
  })
  .strict();
export type AdmitRequest = z.infer<typeof admitRequestSchema>;

/** The admission's answer: a place, the call's place in the queue, or a forward. */
export const admitAnswerSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('active'), waited_seconds: z.number() }),
  z.object({ state: z.literal('queued'), position: z.number(), waited_seconds: z.number() }),
  /** The number forwards the call (docs/call-control.md, "Forwarding"): no agent takes it. */
  z.object({ state: z.literal('forwarded'), reason: z.string() }),
]);
export type AdmitAnswer = z.infer<typeof admitAnswerSchema>;
