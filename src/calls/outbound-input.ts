import { z } from 'zod';
import { callRecordingSchema } from '../recordings/index.js';
import { SIP_USER_TARGET } from './control.js';

// What POST /api/calls takes: its body's schema and the defaults it names.

/** The identity LiveKit SIP gives the dialled party in the call's room. */
export const CALLEE_IDENTITY = 'callee';
/** LiveKit SDK's default ringing timeout, kept as ours. */
export const DEFAULT_RINGING_TIMEOUT_SECONDS = 30;

export const outboundCallSchema = z
  .object({
    trunk_id: z.string().min(1).max(100).optional(),
    from_number: z.string().min(1).max(40).optional(),
    to_number: z.string().min(1).max(40),
    agent_profile_id: z.uuid().optional(),
    agent_profile_name: z.string().min(1).max(200).optional(),
    webhook_url: z
      .string()
      .url()
      .max(2000)
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .optional(),
    ringing_timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(DEFAULT_RINGING_TIMEOUT_SECONDS),
    max_call_duration_seconds: z.number().int().min(1).max(86_400).optional(),
    wait_until_answered: z.boolean().default(true),
    /** This call's recording, over the profile's: false, or the profile's `recording` shape. */
    recording: callRecordingSchema.optional(),
  })
  .strict()
  .refine(
    (b) =>
      b.trunk_id !== undefined || b.from_number !== undefined || SIP_USER_TARGET.test(b.to_number),
    {
      message:
        'give trunk_id or from_number (one of our numbers on a trunk that dials out), or call sip:<username> (a SIP user)',
      path: ['trunk_id'],
    },
  )
  .refine((b) => !(b.agent_profile_id && b.agent_profile_name), {
    message: 'give agent_profile_id or agent_profile_name, not both',
    path: ['agent_profile_name'],
  });
export type OutboundCallInput = z.infer<typeof outboundCallSchema>;
