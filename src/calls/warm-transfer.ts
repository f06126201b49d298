import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrackType, type ParticipantInfo } from '@livekit/protocol';
import { audit, type Actor } from '../audit/index.js';
import type { Call } from '../db/index.js';
import { GatewayError, invalidInput } from '../errors/index.js';
import { LivekitError, livekitCall } from '../livekit/index.js';
import {
  WARM_ANSWER_ATTRIBUTE,
  WHISPER_TRACK_ATTRIBUTE,
  type ControlMessage,
  type WarmOutcome,
} from '../livekit/control-protocol.js';
import { toWireFormat } from '../trunks/phone.js';
import type { NumberFormat } from '../trunks/provider-presets.js';
import {
  checkTransferDestination,
  finishCall,
  loadCall,
  openRoom,
  transferTarget,
  type CallControlDeps,
  type TransferInput,
} from './control.js';
import { callAgent, tellAgent } from './hold.js';
import { DEFAULT_RINGING_TIMEOUT_SECONDS } from './outbound-input.js';
import { dialFailure, recordDialled } from './outbound-leg.js';
import { installationAttributes } from '../trunks/livekit-objects.js';
import { OPEN_CALL_STATUSES } from './statuses.js';

/** How long the human has, once the summary starts, to press 1 or 2. */
export const WARM_ANSWER_TIMEOUT_MS = 45_000;
const POLL_MS = 300;
/** The human's audio track appears shortly after the answer. */
const TRACK_WAIT_MS = 10_000;

/**
 * POST /api/calls/:id/transfer with mode "warm": checks and records at once (the human's leg gets
 * its own record, linked by parent_call_id), then leads the transfer in the background: the
 * caller on hold, the human dialled into the caller's room, the summary, the human's key. The
 * API keeps caller and human from hearing each other (RoomService.updateSubscriptions) until the
 * human accepts; the outcome is written to both records.
 */
export async function startWarmTransfer(
  deps: CallControlDeps,
  id: string,
  input: Pick<TransferInput, 'to' | 'summary' | 'ringing_timeout_seconds'>,
  actor: Actor,
  by: 'api' | 'agent' = 'api',
): Promise<{ call: Call; leg: Call }> {
  const target = transferTarget(input.to);
  if (!target.startsWith('tel:')) {
    const message = 'a warm transfer dials a phone number (+E.164 or tel:+E.164)';
    throw invalidInput(`to: ${message}`, [{ field: 'to', message }]);
  }
  const call = await loadCall(deps.db, id);
  const room = openRoom(call);
  if (call.channel !== 'sip' || !call.participantIdentity || call.status !== 'active') {
    throw new GatewayError('call_not_answered', `call ${call.id} is not an answered phone call`);
  }
  const agent = await callAgent(deps, room);
  if (!agent) {
    throw new GatewayError('no_agent', `call ${call.id} has no agent to speak to the human`);
  }
  const trunk = call.trunkId
    ? await deps.db
        .selectFrom('trunks')
        .selectAll()
        .where('id', '=', call.trunkId)
        .executeTakeFirst()
    : undefined;
  if (!trunk?.livekitOutboundId) {
    throw new GatewayError('no_outbound_trunk', `call ${call.id}'s trunk does not dial out`);
  }
  await checkTransferDestination(deps, call, target, actor, by);
  const busy = await deps.db
    .selectFrom('calls')
    .select('id')
    .where('parentCallId', '=', call.id)
    .where('status', 'in', [...OPEN_CALL_STATUSES])
    .executeTakeFirst();
  if (busy) {
    throw new GatewayError('transfer_in_progress', `call ${call.id} has a warm transfer going on`);
  }

  const legId = randomUUID();
  const humanNumber = target.slice(4);
  const ourNumber = call.direction === 'inbound' ? call.toNumber : call.fromNumber;
  const startedAt = new Date();
  const leg = await deps.db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('calls')
      .values({
        id: legId,
        roomName: room,
        participantIdentity: `warm-${legId}`,
        direction: 'outbound',
        channel: 'sip',
        status: 'ringing',
        trunkId: trunk.id,
        livekitTrunkId: trunk.livekitOutboundId,
        fromNumber: ourNumber,
        toNumber: humanNumber,
        agentProfileId: call.agentProfileId,
        parentCallId: call.id,
        startedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await tx
      .insertInto('callEvents')
      .values([
        {
          callId: legId,
          at: startedAt,
          type: 'dialing',
          data: JSON.stringify({ warm_transfer_of: call.id }),
        },
        {
          callId: call.id,
          at: startedAt,
          type: 'warm_transfer_started',
          data: JSON.stringify({ to: target, leg_call_id: legId, actor: actor.name }),
        },
      ])
      .execute();
    await audit(tx, actor, {
      action: 'call.transfer',
      entityType: 'call',
      entityId: call.id,
      details: { to: target, mode: 'warm', leg_call_id: legId },
    });
    return row;
  });
  const run = new WarmTransfer(deps, call, leg, {
    room,
    agentIdentity: agent.identity,
    dialNumber: toWireFormat(humanNumber, trunk.numberFormat as NumberFormat),
    fromNumber: ourNumber ? toWireFormat(ourNumber, trunk.numberFormat as NumberFormat) : undefined,
    outboundTrunkId: trunk.livekitOutboundId,
    ringingTimeout: input.ringing_timeout_seconds ?? DEFAULT_RINGING_TIMEOUT_SECONDS,
    summary: input.summary ?? summaryOf(call),
  });
  void run.run();
  deps.logger.info(
    { callId: call.id, legCallId: legId, pii: { to: target } },
    'warm transfer started',
  );
  return { call, leg };
}

/** What the human hears when the request gave no summary: the caller's last words. */
export function summaryOf(call: Call): string {
  const lines = (Array.isArray(call.transcript) ? call.transcript : []) as {
    speaker?: string;
    text?: string;
  }[];
  const said = lines
    .filter((l) => l.speaker === 'caller' && l.text && !l.text.startsWith('[DTMF'))
    .slice(-3)
    .map((l) => l.text)
    .join(' ');
  const from = call.direction === 'inbound' ? call.fromNumber : call.toNumber;
  const who = from ? `a caller from ${from.split('').join(' ')}` : 'a caller';
  return said ? `I have ${who} on hold. They said: ${said}.` : `I have ${who} on hold.`;
}

interface WarmPlan {
  room: string;
  agentIdentity: string;
  dialNumber: string;
  fromNumber: string | undefined;
  outboundTrunkId: string;
  ringingTimeout: number;
  summary: string;
}

function audioTracks(p: ParticipantInfo | undefined): string[] {
  return (p?.tracks ?? []).filter((t) => t.type === TrackType.AUDIO).map((t) => t.sid);
}

class WarmTransfer {
  readonly #human: string;

  constructor(
    readonly deps: CallControlDeps,
    readonly call: Call,
    readonly leg: Call,
    readonly plan: WarmPlan,
  ) {
    this.#human = leg.participantIdentity!;
  }

  async run(): Promise<void> {
    let outcome: WarmOutcome = 'failed';
    try {
      outcome = await this.#consult();
    } catch (error) {
      this.deps.logger.error({ err: error, callId: this.call.id }, 'warm transfer failed');
    }
    try {
      await this.#finish(outcome);
    } catch (error) {
      this.deps.logger.error({ err: error, callId: this.call.id }, 'warm transfer end failed');
    }
  }

  async #tell(message: ControlMessage): Promise<boolean> {
    return tellAgent(this.deps, this.plan.room, this.plan.agentIdentity, message);
  }

  async #participant(identity: string): Promise<ParticipantInfo | undefined> {
    try {
      return await livekitCall(() =>
        this.deps.livekit.rooms.getParticipant(this.plan.room, identity),
      );
    } catch (error) {
      if (error instanceof LivekitError && error.kind === 'not_found') return undefined;
      throw error;
    }
  }

  async #consult(): Promise<WarmOutcome> {
    const { deps, plan } = this;
    if (!(await this.#tell({ action: 'warm_prepare', request_id: randomUUID() }))) return 'failed';
    const agent = await this.#participant(plan.agentIdentity);
    const whisper = agent?.attributes[WHISPER_TRACK_ATTRIBUTE];
    if (!whisper) return 'failed';
    // The caller must never hear the whisper; it was silent until now.
    await livekitCall(() =>
      deps.livekit.rooms.updateSubscriptions(
        plan.room,
        this.call.participantIdentity!,
        [whisper],
        false,
      ),
    );
    try {
      const info = await deps.livekit.sip.createSipParticipant(
        plan.outboundTrunkId,
        plan.dialNumber,
        plan.room,
        {
          fromNumber: plan.fromNumber,
          participantIdentity: this.#human,
          participantName: 'transfer target',
          participantAttributes: {
            'voice_gateway.call_id': this.leg.id,
            ...installationAttributes(deps.installation),
          },
          waitUntilAnswered: true,
          ringingTimeout: plan.ringingTimeout,
        },
      );
      await deps.db.transaction().execute((tx) => recordDialled(tx, this.leg.id, info, true));
    } catch (error) {
      const { end } = dialFailure(
        error,
        { id: this.leg.id, startedAt: this.leg.startedAt },
        deps.logger,
      );
      await deps.db.transaction().execute((tx) => finishCall(tx, this.leg.id, end));
      if (['busy', 'declined', 'rejected'].includes(end.endReason)) return 'declined';
      return ['no_answer', 'no_response'].includes(end.endReason) ? 'no_answer' : 'failed';
    }
    if (!(await this.#isolate())) return 'hung_up';
    const speak = randomUUID();
    const told = await this.#tell({
      action: 'warm_speak',
      human_identity: this.#human,
      summary: plan.summary,
      request_id: speak,
    });
    if (!told) return 'failed';
    return this.#awaitAnswer(speak);
  }

  /** Caller and human do not hear each other; the human hears the whisper alone. */
  async #isolate(): Promise<boolean> {
    const { deps, plan } = this;
    const caller = this.call.participantIdentity!;
    const deadline = Date.now() + TRACK_WAIT_MS;
    let human = await this.#participant(this.#human);
    while (human && audioTracks(human).length === 0 && Date.now() < deadline) {
      await sleep(POLL_MS);
      human = await this.#participant(this.#human);
    }
    if (!human) return false;
    const participants = await livekitCall(() => deps.livekit.rooms.listParticipants(plan.room));
    const agent = participants.find((p) => p.identity === plan.agentIdentity);
    const whisper = agent?.attributes[WHISPER_TRACK_ATTRIBUTE];
    const notForHuman = [
      ...audioTracks(participants.find((p) => p.identity === caller)),
      ...audioTracks(agent).filter((sid) => sid !== whisper),
    ];
    await livekitCall(() =>
      deps.livekit.rooms.updateSubscriptions(plan.room, caller, audioTracks(human), false),
    );
    if (notForHuman.length > 0)
      await livekitCall(() =>
        deps.livekit.rooms.updateSubscriptions(plan.room, this.#human, notForHuman, false),
      );
    return true;
  }

  async #awaitAnswer(speak: string): Promise<WarmOutcome> {
    const deadline = Date.now() + WARM_ANSWER_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await sleep(POLL_MS);
      if (!(await this.#participant(this.#human))) return 'hung_up';
      if (!(await this.#participant(this.call.participantIdentity!))) return 'failed';
      const agent = await this.#participant(this.plan.agentIdentity);
      const answer = agent?.attributes[WARM_ANSWER_ATTRIBUTE];
      if (answer === `${speak}:accepted`) return 'accepted';
      if (answer === `${speak}:declined`) return 'declined';
    }
    return 'no_answer';
  }

  async #finish(outcome: WarmOutcome): Promise<void> {
    const { deps, plan } = this;
    const caller = this.call.participantIdentity!;
    if (outcome === 'accepted') {
      const [callerInfo, human] = [
        await this.#participant(caller),
        await this.#participant(this.#human),
      ];
      await livekitCall(() =>
        deps.livekit.rooms.updateSubscriptions(plan.room, caller, audioTracks(human), true),
      );
      await livekitCall(() =>
        deps.livekit.rooms.updateSubscriptions(
          plan.room,
          this.#human,
          audioTracks(callerInfo),
          true,
        ),
      );
    } else if (await this.#participant(this.#human)) {
      await livekitCall(() => deps.livekit.rooms.removeParticipant(plan.room, this.#human)).catch(
        () => undefined,
      );
    }
    await this.#tell({ action: 'warm_end', outcome, request_id: randomUUID() });
    const at = new Date();
    await deps.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('callEvents')
        .values([
          {
            callId: this.call.id,
            at,
            type: 'warm_transfer_ended',
            data: JSON.stringify({ outcome, leg_call_id: this.leg.id }),
          },
          {
            callId: this.leg.id,
            at,
            type: 'warm_transfer_ended',
            data: JSON.stringify({ outcome }),
          },
        ])
        .execute();
      if (outcome !== 'accepted') {
        const leg = await loadCall(tx, this.leg.id, { lock: true });
        if (leg.status === 'ringing' || leg.status === 'active' || outcome === 'declined')
          await finishCall(tx, this.leg.id, {
            endReason: outcome === 'declined' ? 'transfer_declined' : `transfer_${outcome}`,
            hungUpBy: outcome === 'hung_up' ? 'callee' : 'system',
            since: at,
            event: { type: 'warm_transfer_leg_closed', data: { outcome } },
          });
      }
    });
    deps.logger.info({ callId: this.call.id, outcome }, 'warm transfer ended');
  }
}
