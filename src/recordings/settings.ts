import { z } from 'zod';

/**
 * How a call is recorded: an agent profile's `recording`, or a call's own (POST /api/calls
 * `recording`, which overrides the profile's). docs/agents.md "Recordings".
 */
export const recordingSettingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    format: z.enum(['ogg', 'wav']).default('ogg'),
    /** mixed: one channel; stereo: the caller left, the agent right. */
    channels: z.enum(['mixed', 'stereo']).default('stereo'),
    /** Said before the greeting, e.g. "This call is recorded." */
    announce: z.string().trim().min(1).max(500).optional(),
    retention_days: z.number().int().min(1).max(3650).default(90),
  })
  .strict();
export type RecordingSettings = z.infer<typeof recordingSettingsSchema>;

/**
 * A call's own recording setting: `false` (do not record, whatever the profile says) or a
 * recording object (record so). Errors name the field inside, e.g. `recording.format`.
 */
export const callRecordingSchema = z.unknown().transform((value, ctx) => {
  if (value === false) return false as const;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'use false (no recording) or an object like an agent profile\'s "recording"',
    });
    return z.NEVER;
  }
  const parsed = recordingSettingsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  }
  return z.NEVER;
});
export type CallRecordingSetting = z.infer<typeof callRecordingSchema>;
