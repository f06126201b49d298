import path from 'node:path';
import { z } from 'zod';

/**
 * What the agent reports about a call's recording (POST /internal/agent/calls/report,
 * `recording`), stored as the call's `recording` event. `file` is relative to RECORDINGS_DIR.
 * recording: being captured (the raw stereo OGG, readable at any time); ready: finished and
 * converted per the profile; partial: the capture ended abruptly and was kept as it was.
 */
export const recordingReportSchema = z
  .object({
    status: z.enum(['recording', 'ready', 'partial']),
    file: z
      .string()
      .min(1)
      .max(300)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'a relative path inside RECORDINGS_DIR')
      .refine((f) => !f.split('/').includes('..'), 'a relative path inside RECORDINGS_DIR'),
    format: z.enum(['ogg', 'wav']),
    channels: z.enum(['mixed', 'stereo']),
    retention_days: z.number().int().min(1).max(3650),
    started_at: z.string().datetime().optional(),
    duration_seconds: z.number().min(0).optional(),
    size_bytes: z.number().int().min(0).optional(),
  })
  .strict();
export type RecordingReport = z.infer<typeof recordingReportSchema>;

/** The stored event's data: the report plus the API's bookkeeping. */
export type RecordingEventData = Omit<RecordingReport, 'status'> & {
  delete_after: string;
  status: RecordingReport['status'] | 'deleted';
  deleted_at?: string;
  /** Where the file is: local (`file` in RECORDINGS_DIR) or s3 (`object_key`). Absent: local. */
  storage?: 'local' | 's3';
  object_key?: string;
  /** Set while uploads to S3 fail: the file stays local and is tried again from next_attempt_at. */
  upload?: { attempts: number; last_error: string; next_attempt_at: string };
};

export const CONTENT_TYPES = { ogg: 'audio/ogg', wav: 'audio/wav' } as const;

/** What the file is: a capture still going, or kept after its agent died, is the raw stereo OGG. */
export function servedFormat(data: RecordingEventData): RecordingReport['format'] {
  return data.status === 'ready' ? data.format : 'ogg';
}

/** The absolute path of `file` inside `dir`, refusing anything that would leave it. */
export function recordingPath(dir: string, file: string): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, file);
  if (!full.startsWith(root + path.sep)) throw new Error('recording path leaves RECORDINGS_DIR');
  return full;
}
