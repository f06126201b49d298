import { z } from 'zod';

/**
 * POST /internal/agent/calls/profile: which profile answers an inbound call a dispatch rule
 * sent. The called number's own profile wins; the rule's is the fallback.
 */
export const callProfileRequestSchema = z
  .object({
    /** sip.trunkPhoneNumber: the number the caller dialled, as LiveKit SIP gives it. */
    to_number: z.string().max(40).nullable().optional(),
    /** sip.trunkID: LiveKit's inbound trunk id (the number must belong to that trunk). */
    livekit_trunk_id: z.string().max(100).nullable().optional(),
    /** The dispatch rule's profile (its job metadata). */
    rule_profile_id: z.string().max(200).nullable().optional(),
  })
  .strict();
export type CallProfileRequest = z.infer<typeof callProfileRequestSchema>;

export const agentProfileBodySchema = z.object({
  id: z.string(),
  name: z.string(),
  settings: z.unknown(),
});

/** The profile for the call (null: the host's offline profile) and where it came from. */
export const callProfileAnswerSchema = z.object({
  profile: agentProfileBodySchema.nullable(),
  source: z.enum(['number', 'rule', 'none']),
});
export type CallProfileAnswer = z.infer<typeof callProfileAnswerSchema>;
