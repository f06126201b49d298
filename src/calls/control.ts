import type { SipUserDialer } from '../sipusers/index.js';
import { z } from 'zod';
import { audit, type Actor } from '../audit/index.js';
import type { Logger } from '../kernel/logger.js';
import type { Call, Db, Tx } from '../db/index.js';
import type { DestinationPolicy } from '../destinations/index.js';
import { GatewayError, notFound } from '../errors/index.js';
import { LivekitError, livekitCall, type LivekitClients } from '../livekit/index.js';
import { badTarget, transferTarget } from './transfer-target.js';
import { publish } from '../webhooks/outbound/index.js';
import { assertDestination } from './destinations.js';
import { closeCall } from './livekit-events.js';
import { serializeCall } from './serialize.js';
import { sipApiError } from './sip-errors.js';
import { countSipFailure } from './metrics.js';
import { isOpenCallStatus } from './statuses.js';
import { isUuid } from '../kernel/uuid.js';

export { transferTarget } from './transfer-target.js';

export interface CallControlDeps {
  db: Db;
  livekit: LivekitClients;
  logger: Logger;
  /** AGENT_NAME: the worker dispatched into each outbound call's room. */
  agentName: string;
  /** The global destination policy (DESTINATIONS_*); a trunk's own replaces fields of it. */
  destinations: DestinationPolicy;
  /** CALLS_MAX_ACTIVE: open outbound calls count against it. */
  maxActiveCalls?: number;
  /** Counts a call against a trunk's calls_per_second_limit: seconds to wait when over it. */
  callsPerSecond?: (trunkId: string, limit: number) => Promise<number | undefined>;
  /** Calls to sip:<username> (SIP users registered at the edge); undefined without the edge. */
  sipUsers?: SipUserDialer;
  /** This installation's id: every leg it dials carries it (INSTALLATION_ATTRIBUTE). */
  installation: string;
}

/** `sip:<username>` with no host: a SIP user registered at the edge (docs/sip-users.md). */
export const SIP_USER_TARGET = /^sip:([^@;:?\s<>]+)$/;

/** LiveKit stamps its events in whole seconds: a close this far before an action is still its. */
const SUPERSEDED_WINDOW_MS = 2_000;

/** The room POST /api/calls opens for an outbound call: the call's own. */
export function outboundRoomName(callId: string): string {
  return `call-out-${callId}`;
}

export function isOpen(call: Pick<Call, 'status'>): boolean {
  return isOpenCallStatus(call.status);
}

export async function loadCall(db: Db, id: string, options: { lock?: boolean } = {}) {
  if (!isUuid(id)) throw notFound('call', id);
  let query = db.selectFrom('calls').selectAll().where('id', '=', id.toLowerCase());
  if (options.lock) query = query.forUpdate();
  const call = await query.executeTakeFirst();
  if (!call) throw notFound('call', id);
  return call;
}

/** The room of a call still going on; a 409 naming how it ended otherwise. */
export function openRoom(call: Call): string {
  if (isOpen(call) && call.roomName) return call.roomName;
  throw new GatewayError(
    'call_ended',
    `call ${call.id} already ended (${call.endReason ?? call.status}${call.endedAt ? ` at ${call.endedAt.toISOString()}` : ''})`,
    { call: serializeCall(call) },
  );
}

/**
 * Ends a call with the reason an API action knows (busy, api_hangup, transferred). LiveKit's
 * own participant_left may have closed it a moment earlier with a vaguer reason ("removed"):
 * then only the reason is corrected and customers are not told twice.
 */
export async function finishCall(
  tx: Tx,
  id: string,
  end: {
    endReason: string;
    hungUpBy: string;
    /** When the action started: a record closed after this was closed by the action. */
    since: Date;
    event: { type: string; data: Record<string, unknown> };
  },
): Promise<void> {
  const call = await loadCall(tx, id, { lock: true });
  const now = new Date();
  await tx
    .insertInto('callEvents')
    .values({ callId: id, at: now, type: end.event.type, data: JSON.stringify(end.event.data) })
    .execute();
  if (isOpen(call)) {
    await closeCall(tx, call, now, end.endReason, end.hungUpBy);
    return;
  }
  const closedByUs =
    call.endedAt && call.endedAt.getTime() >= end.since.getTime() - SUPERSEDED_WINDOW_MS;
  if (closedByUs && call.endReason !== end.endReason) {
    await tx
      .updateTable('calls')
      .set({ endReason: end.endReason, hungUpBy: end.hungUpBy, updatedAt: now })
      .where('id', '=', id)
      .execute();
  }
}

/** POST /api/calls/:id/hangup: LiveKit removes the participant (SIP BYE or CANCEL). */
export async function hangupCall(deps: CallControlDeps, id: string, actor: Actor) {
  const since = new Date();
  const call = await loadCall(deps.db, id);
  const room = openRoom(call);
  // An outbound call's room is its own (POST /api/calls made it): removing it also ends a
  // call still being set up, and sends the agent away.
  const ownRoom = room === outboundRoomName(call.id);
  try {
    await livekitCall(() =>
      call.participantIdentity && !ownRoom
        ? deps.livekit.rooms.removeParticipant(room, call.participantIdentity)
        : deps.livekit.rooms.deleteRoom(room),
    );
  } catch (error) {
    if (error instanceof LivekitError && error.kind === 'not_found') {
      throw new GatewayError(
        'call_ended',
        `call ${call.id} is no longer in LiveKit (it ended a moment ago); its record closes when LiveKit's end event arrives`,
        {},
        { cause: error },
      );
    }
    throw error;
  }
  await deps.db.transaction().execute(async (tx) => {
    await finishCall(tx, call.id, {
      endReason: 'api_hangup',
      hungUpBy: 'api',
      since,
      event: { type: 'api_hangup', data: { actor: actor.name } },
    });
    await audit(tx, actor, {
      action: 'call.hangup',
      entityType: 'call',
      entityId: call.id,
      details: { room_name: call.roomName },
    });
  });
  deps.logger.info({ callId: call.id }, 'call hung up through the API');
  return loadCall(deps.db, call.id);
}

export const transferSchema = z
  .object({
    to: z.string().min(1).max(300),
    play_dialtone: z.boolean().default(false),
    ringing_timeout_seconds: z.number().int().min(1).max(300).optional(),
    /** cold: a SIP REFER hands the caller over. warm: the agent asks a human first (warm-transfer.ts). */
    mode: z.enum(['cold', 'warm']).default('cold'),
    /** warm: what the agent tells the human; a summary of the transcript otherwise. */
    summary: z.string().min(1).max(1000).optional(),
  })
  .strict()
  .refine((b) => b.mode === 'warm' || b.summary === undefined, {
    message: 'summary is only for warm transfers (mode "warm")',
    path: ['summary'],
  });
export type TransferInput = z.infer<typeof transferSchema>;

/**
 * Whether the caller's leg leaves its room within 10 s: LiveKit's BYE a second after the far
 * end's NOTIFY, or the far end's own BYE once it has transferred (many transferees end the old
 * dialog themselves, and livekit/sip sends none when it lost the REFER's answer).
 */
async function legEnds(deps: CallControlDeps, room: string, identity: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    try {
      await livekitCall(() => deps.livekit.rooms.getParticipant(room, identity));
    } catch (error) {
      if (error instanceof LivekitError && error.kind === 'not_found') return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** The destination policy of the call's trunk on a transfer target; a refusal is recorded. */
export async function checkTransferDestination(
  deps: CallControlDeps,
  call: Call,
  target: string,
  actor: Actor,
  by: 'api' | 'agent' | 'forwarding',
  forwarded?: { reason: string },
): Promise<void> {
  const kind = forwarded ? 'forward' : 'transfer';
  try {
    await assertDestination(deps, {
      trunkId: call.trunkId,
      target,
      field: forwarded ? 'forwarding.to' : 'to',
      actor,
      action: `call.${kind}`,
      callId: call.id,
    });
  } catch (error) {
    const rule = error instanceof GatewayError ? error.extra.rule : undefined;
    await deps.db
      .insertInto('callEvents')
      .values({
        callId: call.id,
        at: new Date(),
        type: `${kind}_refused`,
        data: JSON.stringify({ to: target, rule, by, ...forwarded }),
      })
      .execute();
    deps.logger.warn({ callId: call.id, rule, by, pii: { to: target } }, 'call transfer refused');
    throw error;
  }
}

/**
 * POST /api/calls/:id/transfer, and the agent's transfers (/internal/agent/calls/transfer):
 * the destination policy of the call's trunk decides, then LiveKit SIP sends a REFER to the
 * caller's side. A number's forwarding (src/forwarding) is the same REFER, recorded as
 * `forwarded` with its reason.
 */
export async function transferCall(
  deps: CallControlDeps,
  id: string,
  input: Pick<TransferInput, 'to' | 'play_dialtone' | 'ringing_timeout_seconds'>,
  actor: Actor,
  by: 'api' | 'agent' | 'forwarding' = 'api',
  forwarded?: { reason: string },
) {
  const kind = forwarded ? 'forward' : 'transfer';
  // sip:<username>: one of our SIP users, rung by the edge (no toll, so no destination policy);
  // refused at once when it has no phone registered.
  const sipUser = SIP_USER_TARGET.exec(input.to.trim())?.[1];
  if (sipUser && !deps.sipUsers)
    throw badTarget('transfers to SIP users need the SIP edge (EDGE_ENABLED=true)');
  const target = sipUser ? await deps.sipUsers!.transferUri(sipUser) : transferTarget(input.to);
  const since = new Date();
  const call = await loadCall(deps.db, id);
  const room = openRoom(call);
  if (call.channel !== 'sip' || !call.participantIdentity) {
    throw new GatewayError(
      'not_a_phone_call',
      `call ${call.id} is not a SIP call; only phone calls transfer`,
    );
  }
  // The agent transfers only calls it talks in; its answer report may still be on its way.
  if (call.status !== 'active' && by === 'api') {
    throw new GatewayError(
      'call_not_answered',
      `call ${call.id} is not answered yet; only answered calls transfer`,
    );
  }
  if (!sipUser) await checkTransferDestination(deps, call, target, actor, by, forwarded);
  const identity = call.participantIdentity;
  let answerLost = false;
  try {
    await deps.livekit.sip.transferSipParticipant(room, identity, target, {
      playDialtone: input.play_dialtone,
      ringingTimeout: input.ringing_timeout_seconds,
    });
  } catch (error) {
    const { apiError, failure } = sipApiError(error, { call_id: call.id });
    // livekit/sip v1.8.0 sometimes loses the REFER's answer: its SIP transaction ends as the
    // answer arrives and the answer is dropped unread (more often on a loaded machine). A leg that
    // ends within 10 s went through; one that stays is reported failed, with the cause named.
    const unread = apiError.code === 'sip_no_final_response';
    answerLost = unread && (await legEnds(deps, room, identity));
    if (!answerLost) {
      countSipFailure('transfer', failure?.sipStatus ?? null);
      deps.logger.warn(
        {
          callId: call.id,
          sipStatus: failure?.sipStatus ?? null,
          code: apiError.code,
          pii: { to: target },
        },
        'call transfer failed',
      );
      await deps.db
        .insertInto('callEvents')
        .values({
          callId: call.id,
          at: new Date(),
          type: `${kind}_failed`,
          data: JSON.stringify({
            to: target,
            code: apiError.code,
            sip_status: failure?.sipStatus ?? null,
            ...(unread && { refer_answer_lost: true }),
          }),
        })
        .execute();
      if (unread) {
        throw new GatewayError(
          apiError.code,
          "LiveKit SIP lost the far end's answer to the transfer (REFER) and the caller's leg is still up 10 s later: the far end refused it, or transferred the caller and waits for LiveKit to end the old call (docs/call-control.md)",
          apiError.extra,
          { cause: error },
        );
      }
      throw apiError;
    }
  }
  await deps.db.transaction().execute(async (tx) => {
    await finishCall(tx, call.id, {
      endReason: forwarded ? 'forwarded' : 'transferred',
      hungUpBy: by,
      since,
      event: {
        type: forwarded ? 'forwarded' : 'transferred',
        data: {
          to: target,
          actor: actor.name,
          ...forwarded,
          ...(answerLost && { refer_answer_lost: true }),
        },
      },
    });
    const ended = await loadCall(tx, call.id);
    await publish(
      tx,
      forwarded ? 'call.forwarded' : 'call.transfer',
      { call: serializeCall(ended), to: target, ...forwarded },
      {
        callWebhookUrl: ended.webhookUrl,
        callId: ended.id,
      },
    );
    await audit(tx, actor, {
      action: `call.${kind}`,
      entityType: 'call',
      entityId: call.id,
      details: { to: target, play_dialtone: input.play_dialtone, ...forwarded },
    });
  });
  deps.logger.info({ callId: call.id, by, pii: { to: target } }, 'call transferred');
  return loadCall(deps.db, call.id);
}
