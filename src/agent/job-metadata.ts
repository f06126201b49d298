import { z } from 'zod';
import { recordingSettingsSchema } from '../contract/index.js';

/** What a dispatch (rule, outbound call or recovery) tells the agent; never secrets. */
export const jobMetadataSchema = z.object({
  agent_profile_id: z.string().nullable().optional(),
  dispatch_rule_id: z.string().optional(),
  call_id: z.string().optional(),
  direction: z.enum(['inbound', 'outbound']).optional(),
  /** Set when the API sends a new agent to a call whose agent was lost mid-call. */
  recovery: z.boolean().optional(),
  /**
   * The call's own recording setting (POST /api/calls): false or the profile's shape; it
   * overrides the profile's. One that cannot be read is ignored, not the whole metadata.
   */
  recording: z
    .union([z.literal(false), recordingSettingsSchema])
    .optional()
    .catch(undefined),
});

export type JobMetadata = z.infer<typeof jobMetadataSchema>;

export function parseJobMetadata(raw: string | undefined): JobMetadata {
  if (!raw) return {};
  try {
    const parsed = jobMetadataSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
