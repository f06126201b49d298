import { setTimeout as sleep } from 'node:timers/promises';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import type { WebhookEvent } from 'livekit-server-sdk';
import { systemActor } from '../audit/index.js';
import { finishCall, transferCall, type CallControlDeps } from '../calls/control.js';
import { markAnswered } from '../calls/livekit-events.js';
import type { Db } from '../db/index.js';
import type { LivekitAccess } from './answering-participant.js';
import { isOpenAt } from './schedule.js';
import { DEFAULT_AGENT_WAIT_SECONDS, type Forwarding } from './schema.js';
import { callsForwarded } from './metrics.js';
import { isOpenCallStatus } from '../calls/statuses.js';

export type ForwardReason = 'always' | 'outside_hours' | 'no_capacity';

/** How long a forward waits for LiveKit SIP to answer the call (a REFER needs a dialog). */
const ANSWER_WAIT_MS = 20_000;
const POLL_MS = 200;

/**
 * An inbound call's forwarding: its number's (E.164), else its dispatch rule's (LiveKit's
 * sip.ruleID), if either has one.
 */
export async function callForwarding(
  db: Db,
  call: { toNumber: string | null | undefined; livekitRuleId: string | null | undefined },
): Promise<Forwarding | undefined> {
  const number = call.toNumber
    ? await db
        .selectFrom('phoneNumbers')
        .select('forwarding')
        .where('number', '=', call.toNumber)
        .executeTakeFirst()
    : undefined;
  if (number?.forwarding) return number.forwarding as Forwarding;
  const rule = call.livekitRuleId
    ? await db
        .selectFrom('dispatchRules')
        .select('forwarding')
        .where('livekitId', '=', call.livekitRuleId)
        .executeTakeFirst()
    : undefined;
  return (rule?.forwarding as Forwarding | null | undefined) ?? undefined;
}

/** Whether a call forwards at once, with no agent asked: always, or the line is closed. */
export function forwardsNow(forwarding: Forwarding, at: Date): ForwardReason | undefined {
  if (forwarding.mode === 'always') return 'always';
  if (forwarding.mode === 'outside_hours' && forwarding.schedule) {
    return isOpenAt(forwarding.schedule, at) ? undefined : 'outside_hours';
  }
  return undefined;
}

/**
 * Forwards inbound calls by their number's `forwarding` (docs/call-control.md, "Forwarding"):
 * the REFER is LiveKit SIP's TransferSIPParticipant, as a cold transfer. Decided on the API
 * side, from LiveKit's participant_joined (always, outside_hours, and no_capacity when no agent
 * joins in time) and from the agent's admission (no_capacity when the limits would queue it).
 */
export class CallForwarder {
  /** Rooms this process is forwarding or watching, so one call is not handled twice here. */
  readonly #rooms = new Set<string>();

  constructor(
    private readonly deps: CallControlDeps,
    /** Joins a call no agent joined, so LiveKit SIP answers it (see joinToAnswer). */
    private readonly livekitAccess?: LivekitAccess,
  ) {}

  /** A verified LiveKit event: a phone caller joining an inbound call may forward. */
  consider(event: WebhookEvent): void {
    const p = event.participant;
    const room = event.room?.name;
    if (event.event !== 'participant_joined' || !room || p?.kind !== ParticipantInfo_Kind.SIP)
      return;
    const ruleId = p.attributes['sip.ruleID'] || null;
    void this.#considerCaller(room, p.identity, ruleId).catch((error: unknown) =>
      this.deps.logger.warn({ err: error }, 'call forwarding check failed'),
    );
  }

  async #considerCaller(roomName: string, identity: string, livekitRuleId: string | null) {
    const call = await this.deps.db
      .selectFrom('calls')
      .select(['id', 'direction', 'toNumber'])
      .where('roomName', '=', roomName)
      .where('participantIdentity', '=', identity)
      .orderBy('startedAt', 'desc')
      .executeTakeFirst();
    if (!call || call.direction !== 'inbound') return;
    const forwarding = await callForwarding(this.deps.db, {
      toNumber: call.toNumber,
      livekitRuleId,
    });
    if (!forwarding) return;
    const reason = forwardsNow(forwarding, new Date());
    if (reason) {
      this.forward(roomName, forwarding, reason);
      return;
    }
    if (forwarding.mode !== 'no_capacity') return;
    const waitMs = (forwarding.agent_wait_seconds ?? DEFAULT_AGENT_WAIT_SECONDS) * 1000;
    const check = () =>
      this.#forwardUnlessAgent(call.id, roomName, forwarding).catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'call forwarding without an agent failed'),
      );
    setTimeout(() => void check(), waitMs).unref();
  }

  /** no_capacity: no call host took the call in time (none runs, or none had room). */
  async #forwardUnlessAgent(callId: string, roomName: string, forwarding: Forwarding) {
    const agent = await this.deps.db
      .selectFrom('callEvents')
      .select('id')
      .where('callId', '=', callId)
      .where('type', '=', 'agent_joined')
      .executeTakeFirst();
    if (agent || this.#rooms.has(roomName)) return;
    // Loaded only here: the API needs LiveKit's native client for this alone.
    const { joinToAnswer } = await import('./answering-participant.js');
    const leave = this.livekitAccess && (await joinToAnswer(this.livekitAccess, roomName));
    this.forward(roomName, forwarding, 'no_capacity', leave);
  }

  /** Forwards the inbound call in `roomName` once it is answered; at most once per call. */
  forward(
    roomName: string,
    forwarding: Forwarding,
    reason: ForwardReason,
    /** Leaves the room once done (the participant that made LiveKit SIP answer). */
    leave?: () => Promise<void>,
  ): void {
    if (this.#rooms.has(roomName)) {
      void leave?.();
      return;
    }
    this.#rooms.add(roomName);
    void this.#forward(roomName, forwarding, reason)
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error, reason }, 'call forwarding failed'),
      )
      .finally(() => {
        this.#rooms.delete(roomName);
        void leave?.().catch(() => undefined);
      });
  }

  async #forward(roomName: string, forwarding: Forwarding, reason: ForwardReason) {
    const call = await this.#answeredCall(roomName);
    if (!call || !(await this.#claim(call.id, reason))) return;
    try {
      await transferCall(
        this.deps,
        call.id,
        { to: forwarding.to, play_dialtone: false },
        systemActor,
        'forwarding',
        { reason },
      );
      callsForwarded.inc({ reason, outcome: 'forwarded' });
      this.deps.logger.info({ callId: call.id, reason }, 'call forwarded');
    } catch (error) {
      callsForwarded.inc({ reason, outcome: 'failed' });
      // No agent is there to take the call: it ends rather than staying in a silent room.
      await this.#hangUp(roomName, call, reason);
      throw error;
    }
  }

  /** The room's inbound phone call once LiveKit SIP answered it; undefined if it ended first. */
  async #answeredCall(roomName: string) {
    const deadline = Date.now() + ANSWER_WAIT_MS;
    while (Date.now() < deadline) {
      const call = await this.deps.db
        .selectFrom('calls')
        .select(['id', 'status', 'participantIdentity'])
        .where('roomName', '=', roomName)
        .where('direction', '=', 'inbound')
        .where('channel', '=', 'sip')
        .orderBy('startedAt', 'desc')
        .executeTakeFirst();
      if (call && !isOpenCallStatus(call.status)) return undefined;
      if (call?.status === 'active') return call;
      if (call?.participantIdentity && (await this.#answeredInLivekit(roomName, call))) {
        return call;
      }
      await sleep(POLL_MS);
    }
    return undefined;
  }

  /**
   * Without an agent nobody reports the answer (the agent's report does): LiveKit SIP's own
   * sip.callStatus says it, and the record is marked answered from it.
   */
  async #answeredInLivekit(
    roomName: string,
    call: { id: string; participantIdentity: string | null },
  ) {
    const participant = await this.deps.livekit.rooms
      .getParticipant(roomName, call.participantIdentity!)
      .catch(() => undefined);
    if (participant?.attributes['sip.callStatus'] !== 'active') return false;
    await this.deps.db.transaction().execute(async (tx) => {
      const locked = await tx
        .selectFrom('calls')
        .select('status')
        .where('id', '=', call.id)
        .forUpdate()
        .executeTakeFirst();
      if (locked?.status === 'ringing') await markAnswered(tx, call.id, new Date());
    });
    return true;
  }

  /** One forward per call across API processes: the first to write `forwarding` has it. */
  async #claim(callId: string, reason: ForwardReason): Promise<boolean> {
    return this.deps.db.transaction().execute(async (tx) => {
      await tx.selectFrom('calls').select('id').where('id', '=', callId).forUpdate().execute();
      const taken = await tx
        .selectFrom('callEvents')
        .select('id')
        .where('callId', '=', callId)
        .where('type', '=', 'forwarding')
        .executeTakeFirst();
      if (taken) return false;
      await tx
        .insertInto('callEvents')
        .values({ callId, at: new Date(), type: 'forwarding', data: JSON.stringify({ reason }) })
        .execute();
      return true;
    });
  }

  async #hangUp(
    roomName: string,
    call: { id: string; participantIdentity: string | null },
    reason: ForwardReason,
  ) {
    const since = new Date();
    if (call.participantIdentity) {
      await this.deps.livekit.rooms
        .removeParticipant(roomName, call.participantIdentity)
        .catch(() => undefined);
    }
    await this.deps.db.transaction().execute((tx) =>
      finishCall(tx, call.id, {
        endReason: 'forward_failed',
        hungUpBy: 'system',
        since,
        event: { type: 'forward_hangup', data: { reason } },
      }),
    );
  }
}
