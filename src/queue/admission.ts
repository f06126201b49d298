import { sql, type Db, type Tx } from '../db/index.js';
import {
  callsHoldingPlaces,
  queueAbandoned,
  queueAdmissions,
  queueLength,
  queueWait,
} from './metrics.js';
import { callerPriority } from './priority.js';
import { OPEN_CALL_STATUSES } from '../calls/statuses.js';

/** First key of the admission lock: every API process decides admissions one at a time. */
const ADMISSION_LOCK = 0x76_67_71_75; // "vgqu"
/** A queued call polls every second; one silent this long has gone (its agent died). */
export const QUEUED_STALE_MS = 15_000;
/** An active call's agent beats every 10 s; silent this long, its place is given back. */
export const ACTIVE_STALE_MS = 60_000;

export interface AdmissionRequest {
  roomName: string;
  livekitTrunkId?: string | null;
  toNumber?: string | null;
  fromNumber?: string | null;
  agentProfileId?: string | null;
  /**
   * The call is talking already (an admitted call's beat, or one let through while the API was
   * down): if its place was given back after a silence, it takes one again, over the limit if
   * need be, rather than joining the queue while it talks.
   */
  inCall?: boolean;
}

export type Admission =
  | { state: 'active'; waitedSeconds: number }
  | { state: 'queued'; position: number; waitedSeconds: number };

type Slot = {
  roomName: string;
  state: string;
  trunkId: string | null;
  toNumber: string | null;
  agentProfileId: string | null;
  priority: number;
  enqueuedAt: Date;
};

/** The limits that apply to the calls in the slots: per trunk, number, profile, and overall. */
export interface Limits {
  global: number | undefined;
  trunk: Map<string, number>;
  number: Map<string, number>;
  profile: Map<string, number>;
}

/** The limited keys of one call: calls sharing a key compete for its places. */
function keysOf(slot: Slot, limits: Limits): { key: string; limit: number }[] {
  const keys: { key: string; limit: number }[] = [];
  if (limits.global !== undefined) keys.push({ key: 'global', limit: limits.global });
  const add = (kind: keyof Omit<Limits, 'global'>, id: string | null) => {
    const limit = id === null ? undefined : limits[kind].get(id);
    if (limit !== undefined) keys.push({ key: `${kind}:${id}`, limit });
  };
  add('trunk', slot.trunkId);
  add('number', slot.toNumber);
  add('profile', slot.agentProfileId);
  return keys;
}

export async function loadLimits(db: Tx, slots: Slot[], global: number | undefined) {
  const unique = <T>(values: (T | null)[]) => [
    ...new Set(values.filter((v): v is T => v !== null)),
  ];
  const trunkIds = unique(slots.map((s) => s.trunkId));
  const numbers = unique(slots.map((s) => s.toNumber));
  const profileIds = unique(slots.map((s) => s.agentProfileId));
  const [trunks, phoneNumbers, profiles] = await Promise.all([
    trunkIds.length
      ? db
          .selectFrom('trunks')
          .select(['id', 'maxConcurrentCalls'])
          .where('id', 'in', trunkIds)
          .where('maxConcurrentCalls', 'is not', null)
          .execute()
      : [],
    numbers.length
      ? db
          .selectFrom('phoneNumbers')
          .select(['number', 'maxConcurrentCalls'])
          .where('number', 'in', numbers)
          .where('maxConcurrentCalls', 'is not', null)
          .execute()
      : [],
    profileIds.length
      ? db
          .selectFrom('agentProfiles')
          .select(['id', sql<number | null>`(settings->>'max_concurrent_calls')::int`.as('limit')])
          .where('id', 'in', profileIds)
          .execute()
      : [],
  ]);
  const limits: Limits = {
    global,
    trunk: new Map(trunks.map((t) => [t.id, t.maxConcurrentCalls!])),
    number: new Map(phoneNumbers.map((n) => [n.number, n.maxConcurrentCalls!])),
    profile: new Map(profiles.filter((p) => p.limit !== null).map((p) => [p.id, p.limit!])),
  };
  return limits;
}

/** Open outbound calls hold places on their trunk too (they are dialled, not queued). */
async function outboundByTrunk(db: Tx, trunkIds: string[]) {
  if (trunkIds.length === 0) return new Map<string, number>();
  const rows = await db
    .selectFrom('calls')
    .select(['trunkId', (eb) => eb.fn.countAll<number>().as('n')])
    .where('direction', '=', 'outbound')
    .where('status', 'in', [...OPEN_CALL_STATUSES])
    .where('trunkId', 'in', trunkIds)
    .groupBy('trunkId')
    .execute();
  return new Map(rows.map((r) => [r.trunkId!, Number(r.n)]));
}

/**
 * Takes the admission lock for the rest of the transaction: inbound admissions and outbound
 * calls' places (src/calls/outbound-places.ts) are decided one at a time, by every API process.
 */
export async function lockAdmissions(tx: Tx): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${ADMISSION_LOCK}, 0)`.execute(tx);
}

/** Open outbound calls: they hold places under CALLS_MAX_ACTIVE too. */
export async function openOutboundCalls(tx: Tx): Promise<number> {
  const { n } = await tx
    .selectFrom('calls')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('direction', '=', 'outbound')
    .where('status', 'in', [...OPEN_CALL_STATUSES])
    .executeTakeFirstOrThrow();
  return Number(n);
}

export const queueOrder = (a: Slot, b: Slot) =>
  b.priority - a.priority || a.enqueuedAt.getTime() - b.enqueuedAt.getTime();

/**
 * Gives free places to waiting calls, highest priority first and then in arrival order: a call
 * is admitted when every limit it falls under has room. Runs under the admission lock.
 * Returns the slots as they are now, queued ones in queue order.
 */
async function admitWaiting(tx: Tx, global: number | undefined, now: Date) {
  const slots = await tx
    .selectFrom('callSlots')
    .select([
      'roomName',
      'state',
      'trunkId',
      'toNumber',
      'agentProfileId',
      'priority',
      'enqueuedAt',
    ])
    .execute();
  const limits = await loadLimits(tx, slots, global);
  const used = new Map<string, number>();
  for (const [trunkId, n] of await outboundByTrunk(tx, [...limits.trunk.keys()])) {
    used.set(`trunk:${trunkId}`, n);
  }
  if (global !== undefined) used.set('global', await openOutboundCalls(tx));
  for (const slot of slots.filter((s) => s.state === 'active')) {
    for (const { key } of keysOf(slot, limits)) used.set(key, (used.get(key) ?? 0) + 1);
  }
  const queued = slots.filter((s) => s.state === 'queued').sort(queueOrder);
  const admitted: string[] = [];
  for (const slot of queued) {
    const keys = keysOf(slot, limits);
    if (keys.some(({ key, limit }) => (used.get(key) ?? 0) >= limit)) continue;
    for (const { key } of keys) used.set(key, (used.get(key) ?? 0) + 1);
    slot.state = 'active';
    admitted.push(slot.roomName);
  }
  for (const slot of queued.filter((s) => s.state === 'active')) {
    const waited = (now.getTime() - slot.enqueuedAt.getTime()) / 1000;
    queueAdmissions.inc({ after: waited > 0 ? 'queue' : 'none' });
    if (waited > 0) {
      queueWait.observe(waited);
      await noteCallEvent(tx, slot.roomName, now, 'admitted', { waited_seconds: waited });
    }
  }
  const waiting = queued.filter((s) => s.state === 'queued');
  queueLength.set(waiting.length);
  callsHoldingPlaces.set(slots.length - waiting.length);
  if (admitted.length) {
    await tx
      .updateTable('callSlots')
      .set({ state: 'active', admittedAt: now })
      .where('roomName', 'in', admitted)
      .execute();
  }
  return { slots, limits, queued: waiting };
}

/** Where a waiting call stands: 1 + the waiting calls ahead of it that want a place it wants. */
export function positionOf(slot: Slot, queued: Slot[], limits: Limits): number {
  const mine = new Set(keysOf(slot, limits).map((k) => k.key));
  let ahead = 0;
  for (const other of queued) {
    if (other.roomName === slot.roomName) break;
    if (keysOf(other, limits).some((k) => mine.has(k.key))) ahead += 1;
  }
  return ahead + 1;
}

async function dropStale(tx: Tx, now: Date) {
  await tx
    .deleteFrom('callSlots')
    .where((eb) =>
      eb.or([
        eb.and([
          eb('state', '=', 'queued'),
          eb('heartbeatAt', '<', new Date(now.getTime() - QUEUED_STALE_MS)),
        ]),
        eb('heartbeatAt', '<', new Date(now.getTime() - ACTIVE_STALE_MS)),
      ]),
    )
    .execute();
}

/**
 * Asks for a place for an inbound call, or where it stands in the queue. The agent calls this
 * when the call is answered and then every second while it waits (each call is a heartbeat;
 * so are the 10 s beats of an active call). Idempotent per room.
 */
export async function admitCall(
  db: Db,
  request: AdmissionRequest,
  global: number | undefined,
): Promise<Admission> {
  return db.transaction().execute(async (tx) => {
    await lockAdmissions(tx);
    const now = new Date();
    await dropStale(tx, now);
    const existing = await tx
      .selectFrom('callSlots')
      .select(['state', 'enqueuedAt'])
      .where('roomName', '=', request.roomName)
      .executeTakeFirst();
    const talking = request.inCall === true;
    if (existing) {
      await tx
        .updateTable('callSlots')
        .set({
          heartbeatAt: now,
          ...(talking && existing.state !== 'active' && { state: 'active', admittedAt: now }),
        })
        .where('roomName', '=', request.roomName)
        .execute();
    } else {
      await tx
        .insertInto('callSlots')
        .values({
          roomName: request.roomName,
          state: talking ? 'active' : 'queued',
          ...(talking && { admittedAt: now }),
          trunkId: await ourTrunkId(tx, request.livekitTrunkId),
          toNumber: request.toNumber ?? null,
          fromNumber: request.fromNumber ?? null,
          agentProfileId: request.agentProfileId ?? null,
          priority: await callerPriority(tx, request.toNumber, request.fromNumber),
          enqueuedAt: now,
          heartbeatAt: now,
        })
        .execute();
    }
    const enqueuedAt = existing?.enqueuedAt ?? now;
    const waitedSeconds = (now.getTime() - enqueuedAt.getTime()) / 1000;
    if (existing?.state === 'active') return { state: 'active', waitedSeconds };
    if (talking) {
      await noteCallEvent(tx, request.roomName, now, 'place_restored', {});
      return { state: 'active', waitedSeconds };
    }
    const { slots, limits, queued } = await admitWaiting(tx, global, now);
    const slot = slots.find((s) => s.roomName === request.roomName)!;
    if (slot.state === 'active') return { state: 'active', waitedSeconds };
    const position = positionOf(slot, queued, limits);
    if (!existing) await noteCallEvent(tx, request.roomName, now, 'queued', { position });
    return { state: 'queued', position, waitedSeconds };
  });
}

async function ourTrunkId(db: Tx, livekitTrunkId: string | null | undefined) {
  if (!livekitTrunkId) return null;
  const trunk = await db
    .selectFrom('trunks')
    .select('id')
    .where('livekitInboundId', '=', livekitTrunkId)
    .executeTakeFirst();
  return trunk?.id ?? null;
}

/**
 * Gives a call's place back, or takes it out of the queue: it ended. Called in the transaction
 * that closes the call record, so no place outlives its call.
 */
export async function releaseCall(tx: Tx, roomName: string, reason: string): Promise<void> {
  // The next admission (a waiting call's poll, within a second) hands the place on: doing it
  // here would take the admission lock inside every closing transaction.
  const gone = await tx
    .deleteFrom('callSlots')
    .where('roomName', '=', roomName)
    .returning('state')
    .executeTakeFirst();
  if (gone?.state === 'queued') queueAbandoned.inc({ reason });
}

/** The queue as GET /api/calls/queue shows it. */
export async function queueSnapshot(db: Db, global: number | undefined) {
  const slots = await db.selectFrom('callSlots').selectAll().execute();
  const limits = await loadLimits(db, slots, global);
  const queued = slots.filter((s) => s.state === 'queued').sort(queueOrder);
  return {
    active: slots.filter((s) => s.state === 'active'),
    queued: queued.map((slot) => ({ slot, position: positionOf(slot, queued, limits) })),
    limits,
  };
}

/** Adds an event to the record of the call in the room (when LiveKit's webhook opened it). */
async function noteCallEvent(tx: Tx, roomName: string, at: Date, type: string, data: object) {
  const calls = await tx
    .selectFrom('calls')
    .select('id')
    .where('roomName', '=', roomName)
    .where('status', 'in', [...OPEN_CALL_STATUSES])
    .execute();
  if (calls.length === 0) return;
  await tx
    .insertInto('callEvents')
    .values(calls.map((c) => ({ callId: c.id, at, type, data: JSON.stringify(data) })))
    .execute();
}
