import { closeCall, markAnswered } from '../calls/livekit-events.js';
import type { CallReport, TurnLatency } from '../contract/index.js';
import type { Call, Db } from '../db/index.js';
import { GatewayError } from '../errors/index.js';
import { releaseCall } from '../queue/admission.js';
import {
  applyRecordingReport,
  recordingReported,
  type RecordingDeps,
  type ReportOutcome,
} from '../recordings/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { isOpenCallStatus } from '../calls/statuses.js';

function latencySummary(turns: TurnLatency[]) {
  if (turns.length === 0) return { turns };
  const sorted = turns.map((t) => t.total_ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { turns, p50_ms: at(0.5), p95_ms: at(0.95), max_ms: sorted[sorted.length - 1] };
}

/**
 * A call host's report, in one transaction: the answer, the transcript (and its customer
 * webhook unless partial), the turns' latency, the recording's state, and the end. Undefined
 * when no call record matches yet (LiveKit's webhook that opens it may still be on its way).
 */
export async function applyCallReport(
  db: Db,
  input: CallReport,
  recordings: RecordingDeps | undefined,
): Promise<Call | undefined> {
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
    const open = isOpenCallStatus(call.status);
    if (input.answered_at && open && !call.answeredAt) {
      await markAnswered(tx, call.id, new Date(input.answered_at));
    }
    await tx
      .updateTable('calls')
      .set({
        ...(input.agent_profile_id !== undefined && { agentProfileId: input.agent_profile_id }),
        ...(input.transcript && { transcript: JSON.stringify(input.transcript) }),
        ...(input.latency && { latency: JSON.stringify(latencySummary(input.latency)) }),
        ...(input.answered_by && { answeredBy: input.answered_by }),
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
    if (input.answered_by && !call.answeredBy) {
      await tx
        .insertInto('callEvents')
        .values({
          callId: call.id,
          at: new Date(),
          type: 'machine_detection',
          data: JSON.stringify({ answered_by: input.answered_by }),
        })
        .execute();
      await publish(
        tx,
        'call.machine_detection',
        { call_id: call.id, answered_by: input.answered_by },
        { callWebhookUrl: call.webhookUrl, callId: call.id },
      );
    }
    if (input.recording) {
      if (!recordings) throw new GatewayError('recordings_off', 'recordings are not set up');
      recorded = await applyRecordingReport(recordings, tx, call, input.recording);
    }
    if (input.ended && open) {
      const fresh = await tx
        .selectFrom('calls')
        .select(['id', 'answeredAt', 'startedAt', 'direction'])
        .where('id', '=', call.id)
        .executeTakeFirstOrThrow();
      await closeCall(tx, fresh, new Date(input.ended.at), input.ended.reason, 'agent');
    }
    return tx.selectFrom('calls').selectAll().where('id', '=', call.id).executeTakeFirstOrThrow();
  });
  // Committed: a finished recording now goes to S3 (when set up), in the background.
  if (result && recordings && recorded) recordingReported(recordings, recorded);
  return result;
}
