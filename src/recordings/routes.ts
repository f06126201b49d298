import { stat } from 'node:fs/promises';
import { Router, type Response } from 'express';
import { audit } from '../audit/index.js';
import { every } from '../config/periodic.js';
import { ApiError, notFound } from '../http/errors.js';
import { actorOf, requireRole } from '../http/auth.js';
import { pathParam } from '../http/params.js';
import { checkRecordingLink } from './links.js';
import { CONTENT_TYPES, recordingPath } from './metadata.js';
import { recordingEvent, sweepRecordings, type RecordingDeps } from './store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Streams a call's recording (Range requests work); 404 without one, 410 once deleted. */
async function sendRecording(deps: RecordingDeps, callId: string, res: Response) {
  const event = UUID.test(callId) ? await recordingEvent(deps.db, callId.toLowerCase()) : undefined;
  if (!event) throw notFound('recording of call', callId);
  const { data } = event;
  if (data.status === 'deleted') {
    throw new ApiError(
      410,
      'recording_deleted',
      `the recording of call ${callId} was deleted at ${data.deleted_at ?? 'an unknown time'} (retention ${data.retention_days} days)`,
    );
  }
  const file = recordingPath(deps.dir, data.file);
  if (!(await stat(file).catch(() => undefined))) {
    throw new ApiError(
      404,
      'recording_missing',
      `the recording of call ${callId} is not in RECORDINGS_DIR (is the folder shared with the agent worker?)`,
    );
  }
  // A capture still being written, or kept after its agent died, is always a stereo OGG.
  const format = data.status === 'ready' ? data.format : 'ogg';
  res.setHeader('Content-Type', CONTENT_TYPES[format]);
  res.setHeader('Content-Disposition', `inline; filename="call-${callId}.${format}"`);
  res.setHeader('X-Recording-Status', data.status);
  res.setHeader('Cache-Control', 'private, no-store');
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
    await sendRecording(deps, callId, res);
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
      throw new ApiError(401, 'invalid_link', 'the recording link is invalid or was altered');
    }
    if (check === 'expired') {
      throw new ApiError(403, 'link_expired', 'the recording link has expired; ask for a new one');
    }
    await sendRecording(deps, callId, res);
  });
  return r;
}

/** Deletes recordings past their retention every RECORDINGS_SWEEP_INTERVAL_SECONDS. */
export function startRecordingsSweep(deps: RecordingDeps, intervalSeconds: number): () => void {
  return every(intervalSeconds, () => sweepRecordings(deps), {
    logger: deps.logger,
    message: 'recordings sweep failed',
  });
}
