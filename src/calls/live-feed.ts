import type { Call, Db } from '../db/index.js';
import { serializeCall } from './serialize.js';

/** How often the feed looks for changed calls while someone listens (ms). */
export const LIVE_FEED_INTERVAL_MS = 1000;
/** At most this many changed calls per look; the rest come on the next. */
const BATCH = 200;
/**
 * Each look reads this far back before the newest change it saw: a transaction that stamped
 * its change earlier but committed after the last look is still found. What was already sent
 * (same call, same updated_at) is not sent again.
 */
const OVERLAP_MS = 3000;

/** A call as the live feed sends it: the API's view, its transcript, and whether it is held. */
export type LiveCall = ReturnType<typeof serializeCall> & {
  on_hold: boolean;
  transcript: unknown;
};

type Listener = (calls: LiveCall[]) => void;

/**
 * Changes to call records, for GET /api/events. One loop per API process, running only while
 * someone listens: each second it reads the calls whose record changed (state, transcript,
 * end) or that got an event (hold, resume, transfer) since the last look, and hands them to
 * every listener. The database is what the API processes share, so a change any process (or
 * LiveKit's webhook, or a call host's report) made reaches listeners on every process.
 */
export class LiveCallFeed {
  readonly #listeners = new Set<Listener>();
  #timer: NodeJS.Timeout | undefined;
  #since = new Date();
  #lastEventId = 0;
  /** Calls sent within the overlap: id -> the updated_at sent. */
  readonly #sent = new Map<string, number>();
  #running = false;

  constructor(
    private readonly db: Db,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = LIVE_FEED_INTERVAL_MS,
  ) {}

  get listeners(): number {
    return this.#listeners.size;
  }

  /** Starts listening; the returned function stops. */
  listen(listener: Listener): () => void {
    if (this.#listeners.size === 0) void this.#start();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = false;
  }

  async #start(): Promise<void> {
    this.#running = true;
    this.#since = new Date();
    this.#sent.clear();
    const last = await this.db
      .selectFrom('callEvents')
      .select('id')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()
      .catch(() => undefined);
    this.#lastEventId = Number(last?.id ?? 0);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(
      () => void this.#look().finally(() => this.#schedule()),
      this.intervalMs,
    );
    this.#timer.unref();
  }

  async #look(): Promise<void> {
    try {
      const changes = await this.changedSince();
      if (changes.length > 0) for (const l of this.#listeners) l(changes);
    } catch (error) {
      this.onError(error);
    }
  }

  /** The calls changed since the last look, with their hold state. */
  async changedSince(): Promise<LiveCall[]> {
    const events = await this.db
      .selectFrom('callEvents')
      .select(['id', 'callId'])
      .where('id', '>', this.#lastEventId)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (events.length > 0) this.#lastEventId = Number(events[events.length - 1]!.id);
    // What changed since the newest change seen, and what committed late within the overlap.
    const since = this.#since;
    const [fresh, late] = await Promise.all([
      this.db
        .selectFrom('calls')
        .selectAll()
        .where('updatedAt', '>', since)
        .orderBy('updatedAt')
        .limit(BATCH)
        .execute(),
      this.db
        .selectFrom('calls')
        .selectAll()
        .where('updatedAt', '>', new Date(since.getTime() - OVERLAP_MS))
        .where('updatedAt', '<=', since)
        .limit(BATCH * 5)
        .execute(),
    ]);
    if (fresh.length > 0) this.#since = fresh[fresh.length - 1]!.updatedAt;
    const rows = [...late, ...fresh];
    const updated = rows.filter((c) => this.#sent.get(c.id) !== c.updatedAt.getTime());
    for (const c of updated) this.#sent.set(c.id, c.updatedAt.getTime());
    const horizon = this.#since.getTime() - OVERLAP_MS;
    for (const [id, at] of this.#sent) if (at < horizon) this.#sent.delete(id);
    const byId = new Map<string, Call>(updated.map((c) => [c.id, c]));
    const missing = [...new Set(events.map((e) => e.callId))].filter((id) => !byId.has(id));
    if (missing.length > 0) {
      const more = await this.db
        .selectFrom('calls')
        .selectAll()
        .where('id', 'in', missing)
        .execute();
      for (const c of more) byId.set(c.id, c);
    }
    return withHoldState(this.db, [...byId.values()]);
  }
}

/** Each call with on_hold: its last hold or resume event was a hold. */
export async function withHoldState(db: Db, calls: Call[]): Promise<LiveCall[]> {
  if (calls.length === 0) return [];
  const holds = await db
    .selectFrom('callEvents')
    .select(['callId', 'type', 'id'])
    .where(
      'callId',
      'in',
      calls.map((c) => c.id),
    )
    .where('type', 'in', ['hold', 'resume'])
    .orderBy('id')
    .execute();
  const held = new Map<string, boolean>();
  for (const h of holds) held.set(h.callId, h.type === 'hold');
  return calls.map((c) => ({
    ...serializeCall(c),
    on_hold: held.get(c.id) ?? false,
    transcript: c.transcript,
  }));
}
