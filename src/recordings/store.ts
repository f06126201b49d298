import { stat, unlink } from 'node:fs/promises';
import type { Logger } from '../config/index.js';
import type { Call, Db } from '../db/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { signRecordingLink } from './links.js';
import { recordingPath, type RecordingEventData, type RecordingReport } from './metadata.js';
import { oggOpusDuration } from './ogg.js';

export interface RecordingDeps {
  db: Db;
  dir: string;
  linkKey: Buffer;
  linkTtlSeconds: number;
  publicApiUrl: string;
  logger: Logger;
}

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
export function recordingLink(deps: Omit<RecordingDeps, 'db' | 'logger' | 'dir'>, callId: string) {
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

/**
 * Stores what the agent reports about a call's recording as the call's one `recording` event,
 * and tells customers (call.recording_ready) once it is finished or kept as a partial capture.
 */
export async function applyRecordingReport(
  deps: RecordingDeps,
  db: Db,
  call: Call,
  report: RecordingReport,
): Promise<void> {
  const existing = await recordingEvent(db, call.id);
  const since = existing?.at ?? new Date();
  const data: RecordingEventData = {
    ...existing?.data,
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

/**
 * The periodic task: deletes recordings past their retention (the event stays, marked deleted)
 * and keeps captures whose agent died as partial recordings.
 */
export async function sweepRecordings(deps: RecordingDeps, now = new Date()) {
  const rows = await deps.db
    .selectFrom('callEvents')
    .innerJoin('calls', 'calls.id', 'callEvents.callId')
    .select(['callEvents.id as eventId', 'callEvents.data as data', 'calls.id as callId'])
    .select(['calls.status as callStatus', 'calls.endedAt as endedAt'])
    .where('callEvents.type', '=', 'recording')
    .orderBy('callEvents.id')
    .limit(1000)
    .execute();
  let deleted = 0;
  for (const row of rows) {
    const data = row.data as RecordingEventData;
    if (data.status === 'deleted') continue;
    if (new Date(data.delete_after).getTime() <= now.getTime()) {
      await unlink(recordingPath(deps.dir, data.file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      const gone = { ...data, status: 'deleted', deleted_at: now.toISOString() };
      await deps.db
        .updateTable('callEvents')
        .set({ data: JSON.stringify(gone) })
        .where('id', '=', row.eventId)
        .execute();
      deleted++;
      continue;
    }
    const ended = row.endedAt && now.getTime() - row.endedAt.getTime() > ORPHAN_AFTER_MS;
    if (data.status === 'recording' && ended) {
      const kept = await keepOrphan(deps, row.eventId, data);
      const call = await deps.db
        .selectFrom('calls')
        .selectAll()
        .where('id', '=', row.callId)
        .executeTakeFirstOrThrow();
      await announceReady(deps, deps.db, call, kept);
    }
  }
  if (deleted > 0) deps.logger.info({ deleted }, 'recordings past their retention deleted');
  return { deleted };
}
