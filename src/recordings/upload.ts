import { rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/index.js';
import { CONTENT_TYPES, recordingPath, servedFormat, type RecordingEventData } from './metadata.js';
import type { RecordingDeps } from './deps.js';
import { cappedExponential } from '../kernel/backoff.js';

/** Failed uploads are tried again after 5 s, doubling, at most every 15 minutes, forever. */
export const UPLOAD_RETRY_BASE_MS = 5000;
export const UPLOAD_RETRY_MAX_MS = 15 * 60_000;

/** Calls whose recording this process is uploading now: the report and the sweep never race. */
const uploading = new Set<string>();

export function isUploading(callId: string): boolean {
  return uploading.has(callId);
}

export function uploadRetryDelayMs(attempts: number): number {
  return cappedExponential(attempts, UPLOAD_RETRY_BASE_MS, UPLOAD_RETRY_MAX_MS);
}

/** A finished (or kept partial) recording still in RECORDINGS_DIR, to go to the bucket. */
export function awaitsUpload(data: RecordingEventData, now = new Date()): boolean {
  if (data.status !== 'ready' && data.status !== 'partial') return false;
  if (data.storage === 's3') return false;
  return !data.upload || Date.parse(data.upload.next_attempt_at) <= now.getTime();
}

/** Re-reads the event under a row lock and applies `change` if it still names `file`. */
async function updateIfUnchanged(
  db: Db,
  eventId: number,
  file: string,
  change: (data: RecordingEventData) => RecordingEventData | undefined,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('callEvents')
      .select('data')
      .where('id', '=', eventId)
      .forUpdate()
      .executeTakeFirst();
    const data = row?.data as RecordingEventData | undefined;
    if (!data || data.file !== file || data.status === 'deleted' || data.storage === 's3') {
      return false;
    }
    const next = change(data);
    if (!next) return false;
    await tx
      .updateTable('callEvents')
      .set({ data: JSON.stringify(next) })
      .where('id', '=', eventId)
      .execute();
    return true;
  });
}

/** Removes the local copy, and the capture's own folder (partial/job-…) when it is empty. */
async function removeLocal(dir: string, file: string) {
  const full = recordingPath(dir, file);
  await unlink(full).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  if (path.posix.dirname(file) !== '.') await rmdir(path.dirname(full)).catch(() => undefined);
}

export type UploadOutcome = 'uploaded' | 'failed' | 'skipped';

/**
 * Moves a call's finished recording to the bucket: upload (multipart when large), then the
 * event says `storage: "s3"` with its `object_key`, then the local file goes. A failed upload
 * keeps the file and notes when to try again (uploadRetryDelayMs); nothing is lost either way.
 */
export async function uploadRecording(
  deps: RecordingDeps,
  eventId: number,
  callId: string,
  data: RecordingEventData,
  now = new Date(),
): Promise<UploadOutcome> {
  const bucket = deps.bucket;
  if (!bucket || !awaitsUpload(data, now) || uploading.has(callId)) return 'skipped';
  uploading.add(callId);
  try {
    const key = bucket.objectKey(callId, data.file);
    const local = recordingPath(deps.dir, data.file);
    try {
      await bucket.upload(key, local, CONTENT_TYPES[servedFormat(data)]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      let attempts = 0;
      await updateIfUnchanged(deps.db, eventId, data.file, (current) => {
        attempts = (current.upload?.attempts ?? 0) + 1;
        const next = new Date(now.getTime() + uploadRetryDelayMs(attempts));
        return {
          ...current,
          storage: 'local',
          upload: {
            attempts,
            last_error: message.slice(0, 500),
            next_attempt_at: next.toISOString(),
          },
        };
      });
      deps.logger.warn(
        { err: error, callId, attempts, retryInMs: uploadRetryDelayMs(attempts) },
        'recording upload to S3 failed; the file stays in RECORDINGS_DIR and is tried again',
      );
      return 'failed';
    }
    const stored = await updateIfUnchanged(deps.db, eventId, data.file, (current) => {
      const next: RecordingEventData = { ...current, storage: 's3', object_key: key };
      delete next.upload;
      return next;
    });
    if (!stored) {
      // Deleted or replaced while uploading: the object would be orphaned.
      await bucket.delete(key).catch(() => undefined);
      return 'skipped';
    }
    await removeLocal(deps.dir, data.file).catch((error: unknown) =>
      deps.logger.warn({ err: error, callId }, 'local copy of an uploaded recording not removed'),
    );
    deps.logger.info({ callId, objectKey: key }, 'recording uploaded to S3');
    return 'uploaded';
  } finally {
    uploading.delete(callId);
  }
}
