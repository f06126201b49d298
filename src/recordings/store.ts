import { stat, unlink } from 'node:fs/promises';
import { sql, type Call, type Db } from '../db/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { signRecordingLink } from './links.js';
import { recordingPath, type RecordingEventData, type RecordingReport } from './metadata.js';
import { oggOpusDuration } from './ogg.js';
import type { RecordingDeps } from './deps.js';
import { awaitsUpload, isUploading, uploadRecording } from './upload.js';

const DAY_MS = 86_400_000;
/** A capture still "recording" this long after its call ended lost its agent: kept as it is. */
const ORPHAN_AFTER_MS = 120_000;

export async function recordingEvent(db: Db, callId: string) {
  const row = await db
    .selectFrom('callEvents')
    .select(['id', 'at', 'data'])
    .where('callId', '=', callId)
    .where('type', '=', 'recording')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row && { id: row.id, at: row.at, data: row.data as RecordingEventData };
}

/** A signed, expiring link to a call's recording that needs no API key. */
export function recordingLink(
  deps: Pick<RecordingDeps, 'linkKey' | 'linkTtlSeconds' | 'publicApiUrl'>,
  callId: string,
) {
  const expires = Math.floor(Date.now() / 1000) + deps.linkTtlSeconds;
  const { signature } = signRecordingLink(deps.linkKey, callId, expires);
  // Relative to the public URL, which may carry a path prefix behind a proxy.
  const url = new URL(`${deps.publicApiUrl.replace(/\/+$/, '')}/recordings/${callId}`);
  url.searchParams.set('expires', String(expires));
  url.searchParams.set('signature', signature);
  return { url: url.toString(), expires_at: new Date(expires * 1000).toISOString() };
}

async function announceReady(deps: RecordingDeps, db: Db, call: Call, data: RecordingEventData) {
  await publish(
    db,
    'call.recording_ready',
    {
      call_id: call.id,
      recording: {
        status: data.status,
        format: data.format,
        channels: data.channels,
        duration_seconds: data.duration_seconds ?? null,
        size_bytes: data.size_bytes ?? null,
        delete_after: data.delete_after,
        ...recordingLink(deps, call.id),
      },
    },
    { callWebhookUrl: call.webhookUrl, callId: call.id },
  );
}

/** What is left to do once the report's transaction committed (recordingReported). */
export interface ReportOutcome {
  callId: string;
  /** The file is finished: move it to the bucket. */
  upload: boolean;
  /** An object of the call's earlier file, replaced by this report. */
  staleObjectKey: string | undefined;
}

/**
 * Stores what the agent reports about a call's recording as the call's one `recording` event,
 * and tells customers (call.recording_ready) once it is finished or kept as a partial capture.
 * Runs inside the report's transaction: the upload comes after it (recordingReported).
 */
export async function applyRecordingReport(
  deps: RecordingDeps,
  db: Db,
  call: Call,
  report: RecordingReport,
): Promise<ReportOutcome> {
  const existing = await recordingEvent(db, call.id);
  const since = existing?.at ?? new Date();
  // A new file starts local: the bucket's copy (if any) was of the one it replaces.
  const sameFile = existing?.data.file === report.file;
  const carried: Partial<RecordingEventData> = { ...existing?.data };
  const staleObjectKey = sameFile ? undefined : carried.object_key;
  if (!sameFile) {
    delete carried.storage;
    delete carried.object_key;
    delete carried.upload;
  }
  const data: RecordingEventData = {
    storage: 'local',
    ...carried,
    ...report,
    delete_after: new Date(since.getTime() + report.retention_days * DAY_MS).toISOString(),
  };
  if (existing) {
    await db
      .updateTable('callEvents')
      .set({ data: JSON.stringify(data) })
      .where('id', '=', existing.id)
      .execute();
  } else {
    await db
      .insertInto('callEvents')
      .values({ callId: call.id, at: since, type: 'recording', data: JSON.stringify(data) })
      .execute();
  }
  if (report.status !== 'recording' && existing?.data.status !== report.status) {
    await announceReady(deps, db, call, data);
  }
  return {
    callId: call.id,
    upload: report.status !== 'recording',
    staleObjectKey,
  };
}

/**
 * After the report committed: a finished recording starts its way to the bucket at once, in
 * the background (the agent is not kept waiting); a failure is retried by the sweep.
 */
export function recordingReported(deps: RecordingDeps, outcome: ReportOutcome): void {
  const { bucket, logger } = deps;
  if (!bucket) return;
  const { callId, staleObjectKey } = outcome;
  if (staleObjectKey) {
    bucket
      .delete(staleObjectKey)
      .catch((error: unknown) =>
        logger.warn({ err: error, callId }, 'replaced recording not deleted from S3'),
      );
  }
  if (!outcome.upload) return;
  void (async () => {
    const event = await recordingEvent(deps.db, callId);
    if (event) await uploadRecording(deps, event.id, callId, event.data);
  })().catch((error: unknown) =>
    logger.warn({ err: error, callId }, 'recording upload could not start; the sweep retries'),
  );
}

/** A capture whose agent died: keep the raw OGG as it is (its complete pages play). */
async function keepOrphan(deps: RecordingDeps, id: number, data: RecordingEventData) {
  const file = recordingPath(deps.dir, data.file);
  const info = await stat(file).catch(() => undefined);
  const kept: RecordingEventData = {
    ...data,
    status: 'partial',
    size_bytes: info?.size ?? 0,
    duration_seconds: info ? ((await oggOpusDuration(file).catch(() => undefined)) ?? 0) : 0,
  };
  await deps.db
    .updateTable('callEvents')
    .set({ data: JSON.stringify(kept) })
    .where('id', '=', id)
    .execute();
  return kept;
}

/** Rows a sweep reads at a time. */
const SWEEP_PAGE = 500;
/** A sweep starts no new page after this long; the next sweep carries on where work is left. */
export const SWEEP_BUDGET_MS = 60_000;

type SweepRow = { eventId: number; data: unknown; callId: string };

/**
 * Pages through recording events matching `filter` in id order (keyset, so rows changed on the
 * way do not shift the pages), until none are left or the budget is spent.
 */
async function eachRecording(
  deps: RecordingDeps,
  until: number,
  filter: (query: RecordingRows) => RecordingRows,
  work: (row: SweepRow) => Promise<void>,
) {
  for (let after = 0; Date.now() < until;) {
    const rows = await filter(recordingRows(deps.db))
      .where('callEvents.id', '>', after)
      .orderBy('callEvents.id')
      .limit(SWEEP_PAGE)
      .execute();
    for (const row of rows) await work(row);
    if (rows.length < SWEEP_PAGE) return;
    after = rows[rows.length - 1]!.eventId;
  }
}

type RecordingRows = ReturnType<typeof recordingRows>;

function recordingRows(db: Db) {
  return db
    .selectFrom('callEvents')
    .innerJoin('calls', 'calls.id', 'callEvents.callId')
    .select(['callEvents.id as eventId', 'callEvents.data as data', 'calls.id as callId'])
    .where('callEvents.type', '=', 'recording');
}

const field = (name: string) => sql<string>`${sql.ref('callEvents.data')}->>${name}`;

/**
 * The periodic task: deletes every recording past its retention (the event stays, marked
 * deleted), page by page until all are done or SWEEP_BUDGET_MS is spent; keeps captures whose
 * agent died as partial recordings; and with S3 moves finished recordings still in
 * RECORDINGS_DIR (an upload that failed before) to the bucket.
 */
export async function sweepRecordings(
  deps: RecordingDeps,
  now = new Date(),
  budgetMs = SWEEP_BUDGET_MS,
) {
  const until = Date.now() + budgetMs;
  let deleted = 0;
  let uploaded = 0;
  // ISO times compare as text: only the expired ones are read, however many are kept longer.
  await eachRecording(
    deps,
    until,
    (q) =>
      q
        .where(field('status'), '<>', 'deleted')
        .where(field('delete_after'), '<=', now.toISOString()),
    async (row) => {
      const data = row.data as RecordingEventData;
      // One being uploaded now is deleted by the next sweep, wherever it then is.
      if (isUploading(row.callId) || !(await deleteStored(deps, row.callId, data))) return;
      const gone = { ...data, status: 'deleted', deleted_at: now.toISOString() };
      await deps.db
        .updateTable('callEvents')
        .set({ data: JSON.stringify(gone) })
        .where('id', '=', row.eventId)
        .execute();
      deleted++;
    },
  );
  await eachRecording(
    deps,
    until,
    (q) =>
      q
        .where(field('status'), '=', 'recording')
        .where('calls.endedAt', '<', new Date(now.getTime() - ORPHAN_AFTER_MS)),
    async (row) => {
      const current = await keepOrphan(deps, row.eventId, row.data as RecordingEventData);
      const call = await deps.db
        .selectFrom('calls')
        .selectAll()
        .where('id', '=', row.callId)
        .executeTakeFirstOrThrow();
      await announceReady(deps, deps.db, call, current);
      if (deps.bucket && awaitsUpload(current, now)) {
        const outcome = await uploadRecording(deps, row.eventId, row.callId, current, now);
        if (outcome === 'uploaded') uploaded++;
      }
    },
  );
  if (deps.bucket) uploaded += (await retryUploads(deps, now)).uploaded;
  if (deleted > 0) deps.logger.info({ deleted }, 'recordings past their retention deleted');
  return { deleted, uploaded };
}

/**
 * Deletes a recording's file: the object in the bucket, or the local file. False when the
 * bucket could not be reached: the recording stays and the next sweep tries again.
 */
/** With S3: finished recordings still local whose next upload attempt is due. */
export async function retryUploads(deps: RecordingDeps, now = new Date()) {
  if (!deps.bucket) return { uploaded: 0 };
  const rows = await deps.db
    .selectFrom('callEvents')
    .select(['id', 'callId', 'data'])
    .where('type', '=', 'recording')
    .where(sql<string>`${sql.ref('data')}->>'status'`, 'in', ['ready', 'partial'])
    .where(sql<string>`coalesce(${sql.ref('data')}->>'storage', 'local')`, '=', 'local')
    // ISO times compare as text: due attempts only, so a long backlog cannot hide new ones.
    .where(
      sql<string>`coalesce(${sql.ref('data')}#>>'{upload,next_attempt_at}', '')`,
      '<=',
      now.toISOString(),
    )
    .orderBy('id')
    .limit(200)
    .execute();
  let uploaded = 0;
  for (const row of rows) {
    const data = row.data as RecordingEventData;
    if (!awaitsUpload(data, now)) continue;
    if ((await uploadRecording(deps, row.id, row.callId, data, now)) === 'uploaded') uploaded++;
  }
  return { uploaded };
}

async function deleteStored(deps: RecordingDeps, callId: string, data: RecordingEventData) {
  if (data.storage === 's3' && data.object_key) {
    if (!deps.bucket) {
      deps.logger.warn({ callId }, 'recording past its retention is in S3 but S3 is not set up');
      return false;
    }
    try {
      await deps.bucket.delete(data.object_key);
    } catch (error) {
      deps.logger.warn({ err: error, callId }, 'recording past its retention not deleted from S3');
      return false;
    }
  }
  await unlink(recordingPath(deps.dir, data.file)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  return true;
}
