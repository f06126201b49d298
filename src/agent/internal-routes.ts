import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { transferCall, transferSchema, type CallControlDeps } from '../calls/control.js';
import { closeCall, markAnswered } from '../calls/livekit-events.js';
import { serializeCall } from '../calls/serialize.js';
import type { Db } from '../db/index.js';
import { ApiError, notFound, parseBody } from '../http/errors.js';
import { pathParam } from '../http/params.js';
import {
  applyRecordingReport,
  recordingReported,
  recordingReportSchema,
  type RecordingDeps,
  type ReportOutcome,
} from '../recordings/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { admitCall, releaseCall } from '../queue/admission.js';
import { admissionRequestSchema } from '../queue/internal.js';
import { verifyAgentToken } from './agent-token.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const turnLatencySchema = z
  .object({
    at: z.string().datetime(),
    /** End of the caller's speech to the agent's first audio. */
    total_ms: z.number().min(0),
    endpointing_ms: z.number().min(0).nullable(),
    stt_ms: z.number().min(0).nullable(),
    llm_ms: z.number().min(0).nullable(),
    tts_ms: z.number().min(0).nullable(),
  })
  .strict();

const reportSchema = z
  .object({
    room_name: z.string().min(1).max(200),
    participant_identity: z.string().min(1).max(200),
    agent_profile_id: z.string().regex(UUID).nullable().optional(),
    answered_at: z.string().datetime().optional(),
    transcript: z
      .array(
        z
          .object({
            at: z.string().datetime(),
            speaker: z.enum(['caller', 'agent']),
            text: z.string().max(20000),
          })
          .strict(),
      )
      .max(5000)
      .optional(),
    latency: z.array(turnLatencySchema).max(5000).optional(),
    /** Set when the agent ended the call (hangup, transfer, max duration, silence, failure). */
    ended: z
      .object({
        at: z.string().datetime(),
        reason: z.string().regex(/^[a-z_]{1,40}$/),
      })
      .strict()
      .optional(),
    /** Where the call's recording is and how far it got (docs/agents.md). */
    recording: recordingReportSchema.optional(),
    /** The transcript so far, sent while the call goes on: stored, no call.transcript webhook. */
    partial: z.boolean().optional(),
  })
  .strict();

const agentTransferSchema = z
  .object({
    room_name: z.string().min(1).max(200),
    participant_identity: z.string().min(1).max(200),
    to: transferSchema.shape.to,
  })
  .strict();
const AGENT_ACTOR = { keyId: null, name: 'agent' };

function requireAgent(livekitApiSecret: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
    verifyAgentToken(livekitApiSecret, token).then(
      (ok) => next(ok ? undefined : new ApiError(401, 'unauthenticated', 'invalid agent token')),
      next,
    );
  };
}

function latencySummary(turns: z.infer<typeof turnLatencySchema>[]) {
  if (turns.length === 0) return { turns };
  const sorted = turns.map((t) => t.total_ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { turns, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: sorted[sorted.length - 1] };
}

/** /internal/agent: what the agent worker reads (profiles) and writes (call results). */
export function agentInternalRouter(
  db: Db,
  livekitApiSecret: string,
  options: {
    recordings?: RecordingDeps;
    maxActiveCalls?: number;
    callControl?: CallControlDeps;
  } = {},
): Router {
  const { recordings } = options;
  const r = Router();
  r.use('/internal/agent', requireAgent(livekitApiSecret));

  // An inbound call asks for a place under the concurrency limits, then polls while it waits.
  r.post('/internal/agent/calls/admit', async (req, res) => {
    const input = parseBody(admissionRequestSchema, req.body);
    const admission = await admitCall(db, input, options.maxActiveCalls);
    res.json({
      state: admission.state,
      ...(admission.state === 'queued' && { position: admission.position }),
      waited_seconds: admission.waitedSeconds,
    });
  });

  // The agent's transfers (IVR, LLM tool, bridge, queue timeout): the API's destination policy
  // decides, as for POST /api/calls/:id/transfer; a refusal is the same 403.
  r.post('/internal/agent/calls/transfer', async (req, res) => {
    const input = parseBody(agentTransferSchema, req.body);
    if (!options.callControl) throw new ApiError(503, 'transfers_off', 'transfers are not set up');
    const call = await db
      .selectFrom('calls')
      .select('id')
      .where('roomName', '=', input.room_name)
      .where('participantIdentity', '=', input.participant_identity)
      .orderBy('startedAt', 'desc')
      .executeTakeFirst();
    if (!call) throw new ApiError(404, 'not_found', 'no call record for this room and participant');
    const transfer = { to: input.to, play_dialtone: false };
    const done = await transferCall(options.callControl, call.id, transfer, AGENT_ACTOR, 'agent');
    res.json(serializeCall(done));
  });

  r.get('/internal/agent/profiles/:id', async (req, res) => {
    const ref = pathParam(req);
    const profile = await db
      .selectFrom('agentProfiles')
      .select(['id', 'name', 'settings'])
      .where((eb) => (UUID.test(ref) ? eb('id', '=', ref) : eb('name', '=', ref)))
      .executeTakeFirst();
    if (!profile) throw notFound('agent profile', ref);
    res.json(profile);
  });

  // An agent taking over a call from a lost one goes on from the transcript so far.
  r.get('/internal/agent/calls/:id/transcript', async (req, res) => {
    const id = pathParam(req);
    if (!UUID.test(id)) throw notFound('call', id);
    const call = await db
      .selectFrom('calls')
      .select(['id', 'transcript'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!call) throw notFound('call', id);
    const transcript: unknown =
      typeof call.transcript === 'string' ? JSON.parse(call.transcript) : call.transcript;
    res.json({ id: call.id, transcript: Array.isArray(transcript) ? transcript : [] });
  });

  r.post('/internal/agent/calls/report', async (req, res) => {
    const input = parseBody(reportSchema, req.body);
    let recorded: ReportOutcome | undefined;
    const result = await db.transaction().execute(async (tx) => {
      // The call's place goes back even when its record is missing (a lost webhook).
      if (input.ended) await releaseCall(tx, input.room_name, input.ended.reason);
      const call = await tx
        .selectFrom('calls')
        .selectAll()
        .where('roomName', '=', input.room_name)
        .where('participantIdentity', '=', input.participant_identity)
        .orderBy('startedAt', 'desc')
        .forUpdate()
        .executeTakeFirst();
      if (!call) return undefined;
      const open = call.status === 'ringing' || call.status === 'active';
      if (input.answered_at && open && !call.answeredAt) {
        await markAnswered(tx, call.id, new Date(input.answered_at));
      }
      await tx
        .updateTable('calls')
        .set({
          ...(input.agent_profile_id !== undefined && { agentProfileId: input.agent_profile_id }),
          ...(input.transcript && { transcript: JSON.stringify(input.transcript) }),
          ...(input.latency && { latency: JSON.stringify(latencySummary(input.latency)) }),
          updatedAt: new Date(),
        })
        .where('id', '=', call.id)
        .execute();
      if (input.transcript?.length && !input.partial) {
        await publish(
          tx,
          'call.transcript',
          { call_id: call.id, transcript: input.transcript },
          { callWebhookUrl: call.webhookUrl, callId: call.id },
        );
      }
      if (input.recording) {
        if (!recordings) throw new ApiError(503, 'recordings_off', 'recordings are not set up');
        recorded = await applyRecordingReport(recordings, tx, call, input.recording);
      }
      if (input.ended && open) {
        const fresh = await tx
          .selectFrom('calls')
          .select(['id', 'answeredAt', 'startedAt'])
          .where('id', '=', call.id)
          .executeTakeFirstOrThrow();
        await closeCall(tx, fresh, new Date(input.ended.at), input.ended.reason, 'agent');
      }
      return tx.selectFrom('calls').selectAll().where('id', '=', call.id).executeTakeFirstOrThrow();
    });
    if (!result) {
      throw new ApiError(404, 'not_found', 'no call record for this room and participant yet');
    }
    // Committed: a finished recording now goes to S3 (when set up), in the background.
    if (recordings && recorded) recordingReported(recordings, recorded);
    res.json(serializeCall(result));
  });
  return r;
}
