import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { audit } from '../audit/index.js';
import { every } from '../kernel/periodic.js';
import { GatewayError, notFound } from '../errors/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { pathParam } from '../http-kit/params.js';
import { checkRecordingLink } from './links.js';
import { CONTENT_TYPES, recordingPath, servedFormat, type RecordingEventData } from './metadata.js';
import { RecordingStoreError } from './s3.js';
import type { RecordingDeps } from './deps.js';
import { recordingEvent, retryUploads, sweepRecordings } from './store.js';
import { isUuid } from '../kernel/uuid.js';

/** One byte range ("bytes=0-99", "bytes=100-", "bytes=-500"); anything else gets the whole file. */
const SINGLE_RANGE = /^bytes=(\d+-\d*|-\d+)$/;

/** Streams the recording from the bucket, passing a Range request on to it. */
async function sendStored(
  deps: RecordingDeps,
  callId: string,
  data: RecordingEventData,
  req: Request,
  res: Response,
  headers: Record<string, string>,
) {
  if (!deps.bucket || !data.object_key) {
    throw new GatewayError(
      'recording_storage_unavailable',
      `the recording of call ${callId} is in S3, but RECORDINGS_STORAGE is not s3 here`,
    );
  }
  const range = req.headers.range?.trim();
  let stored;
  try {
    stored =
      req.method === 'HEAD'
        ? await deps.bucket.head(data.object_key)
        : await deps.bucket.get(
            data.object_key,
            range && SINGLE_RANGE.test(range) ? range : undefined,
          );
  } catch (error) {
    if (!(error instanceof RecordingStoreError)) throw error;
    if (error.kind === 'bad_range') {
      throw new GatewayError(
        'range_not_satisfiable',
        `${range ?? ''} is outside the recording`,
        {},
        { cause: error },
      );
    }
    if (error.kind === 'missing') {
      throw new GatewayError(
        'recording_missing',
        `the recording of call ${callId} is not in the S3 bucket (${data.object_key})`,
        {},
        { cause: error },
      );
    }
    deps.logger.warn({ err: error, callId }, 'recording could not be read from S3');
    throw new GatewayError(
      'recording_storage_unavailable',
      `the recording of call ${callId} is in S3, which did not answer; try again`,
      {},
      { cause: error },
    );
  }
  res.status(stored.contentRange ? 206 : 200).set(headers);
  res.setHeader('Accept-Ranges', 'bytes');
  if (stored.contentLength !== undefined) res.setHeader('Content-Length', stored.contentLength);
  if (stored.contentRange) res.setHeader('Content-Range', stored.contentRange);
  if (stored.etag) res.setHeader('ETag', stored.etag);
  if (stored.lastModified) res.setHeader('Last-Modified', stored.lastModified.toUTCString());
  if (!stored.body) {
    res.end();
    return;
  }
  // Headers are out: a failure now can only cut the response short.
  await pipeline(stored.body, res).catch((error: unknown) => {
    if (!res.writableEnded) {
      deps.logger.warn({ err: error, callId }, 'recording stream from S3 broke off');
    }
    res.destroy();
  });
}

/** Streams a call's recording (Range requests work); 404 without one, 410 once deleted. */
async function sendRecording(deps: RecordingDeps, callId: string, req: Request, res: Response) {
  const event = isUuid(callId) ? await recordingEvent(deps.db, callId.toLowerCase()) : undefined;
  if (!event) throw notFound('recording of call', callId);
  let { data } = event;
  if (data.status === 'deleted') {
    throw new GatewayError(
      'recording_deleted',
      `the recording of call ${callId} was deleted at ${data.deleted_at ?? 'an unknown time'} (retention ${data.retention_days} days)`,
    );
  }
  // A capture still being written, or kept after its agent died, is always a stereo OGG.
  const format = servedFormat(data);
  const headers = {
    'Content-Type': CONTENT_TYPES[format],
    'Content-Disposition': `inline; filename="call-${callId}.${format}"`,
    'X-Recording-Status': data.status,
    'X-Recording-Storage': data.storage ?? 'local',
    'Cache-Control': 'private, no-store',
  };
  const file = recordingPath(deps.dir, data.file);
  if (data.storage !== 's3' && !(await stat(file).catch(() => undefined))) {
    // Uploaded to S3 since it was read (the file goes once the event says where the object is)?
    data = (await recordingEvent(deps.db, callId.toLowerCase()))?.data ?? data;
  }
  if (data.storage === 's3') {
    await sendStored(deps, callId, data, req, res, { ...headers, 'X-Recording-Storage': 's3' });
    return;
  }
  if (!(await stat(file).catch(() => undefined))) {
    throw new GatewayError(
      'recording_missing',
      `the recording of call ${callId} is not in RECORDINGS_DIR (is the folder shared with the agent worker?)`,
    );
  }
  res.set(headers);
  await new Promise<void>((resolve, reject) =>
    res.sendFile(file, { dotfiles: 'allow' }, (error) => (error ? reject(error) : resolve())),
  );
}

/** GET /api/calls/:id/recording (viewer: the same users who read transcripts). */
export function recordingsRouter(deps: RecordingDeps): Router {
  const r = Router();
  r.get('/calls/:id/recording', requireRole('viewer'), async (req, res) => {
    const callId = pathParam(req);
    const actor = actorOf(req);
    await sendRecording(deps, callId, req, res);
    await audit(deps.db, actor, {
      action: 'call.recording_download',
      entityType: 'call',
      entityId: callId,
    }).catch((error: unknown) => deps.logger.warn({ err: error }, 'audit entry failed'));
  });
  return r;
}

/** GET /recordings/:id?expires=&signature=: the signed link of call.recording_ready, no key. */
export function recordingLinkRouter(deps: RecordingDeps): Router {
  const r = Router();
  r.get('/recordings/:id', async (req, res) => {
    const callId = pathParam(req).toLowerCase();
    const check = checkRecordingLink(deps.linkKey, callId, req.query.expires, req.query.signature);
    if (check === 'invalid') {
      throw new GatewayError('invalid_link', 'the recording link is invalid or was altered');
    }
    if (check === 'expired') {
      throw new GatewayError('link_expired', 'the recording link has expired; ask for a new one');
    }
    await sendRecording(deps, callId, req, res);
  });
  return r;
}

/** Failed uploads are looked at this often at least, whatever the sweep's interval. */
const UPLOAD_RETRY_TICK_SECONDS = 15;

/**
 * Deletes recordings past their retention every RECORDINGS_SWEEP_INTERVAL_SECONDS; with S3,
 * failed uploads are also tried again (each on its own backoff) every 15 s at most apart.
 */
export function startRecordingsSweep(deps: RecordingDeps, intervalSeconds: number): () => void {
  const stops = [
    every(intervalSeconds, () => sweepRecordings(deps), {
      logger: deps.logger,
      message: 'recordings sweep failed',
    }),
  ];
  if (deps.bucket && (intervalSeconds <= 0 || intervalSeconds > UPLOAD_RETRY_TICK_SECONDS)) {
    stops.push(
      every(UPLOAD_RETRY_TICK_SECONDS, () => retryUploads(deps), {
        logger: deps.logger,
        message: 'recording uploads failed',
      }),
    );
  }
  return () => {
    for (const stop of stops) stop();
    void deps.bucket?.close();
  };
}
