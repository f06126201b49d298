import type { SIPParticipantInfo } from 'livekit-server-sdk';
import type { Tx } from '../db/index.js';
import type { Logger } from '../kernel/logger.js';
import { isOpen, loadCall } from './control.js';
import type { Route } from './dial-plan.js';
import { markAnswered } from './livekit-events.js';
import { countSipFailure } from './metrics.js';
import { sipApiError } from './sip-errors.js';

// A dialled leg of an outbound call (API, SIP user or warm transfer): its record once LiveKit
// SIP placed it, and its failure when it did not.

export interface NewCall {
  id: string;
  roomName: string;
  route: Route;
  toNumber: string;
  agentProfileId: string | null;
  startedAt: Date;
}

/** LiveKit SIP placed the call: note its ids, and the answer when it waited for one. */
export async function recordDialled(
  tx: Tx,
  id: string,
  info: SIPParticipantInfo,
  answered: boolean,
) {
  const call = await loadCall(tx, id, { lock: true });
  await tx
    .updateTable('calls')
    .set({
      participantSid: call.participantSid ?? (info.participantId || null),
      sipCallId: call.sipCallId ?? (info.sipCallId || null),
      updatedAt: new Date(),
    })
    .where('id', '=', id)
    .execute();
  if (answered && isOpen(call) && !call.answeredAt) await markAnswered(tx, id, new Date());
}

export function dialFailure(
  error: unknown,
  call: Pick<NewCall, 'id' | 'startedAt'>,
  logger: Logger,
) {
  const { apiError, failure } = sipApiError(error, { call_id: call.id });
  countSipFailure('dial', failure?.sipStatus ?? null);
  logger.warn(
    {
      callId: call.id,
      sipStatus: failure?.sipStatus ?? null,
      code: apiError.code,
      err: failure ? undefined : error,
    },
    'outbound call failed',
  );
  return {
    apiError,
    end: {
      endReason: failure?.endReason ?? 'dial_failed',
      hungUpBy: failure?.hungUpBy ?? 'system',
      since: call.startedAt,
      event: {
        type: 'dial_failed',
        data: {
          code: apiError.code,
          sip_status: failure?.sipStatus ?? null,
          sip_reason: failure?.sipReason ?? null,
        },
      },
    },
  };
}
