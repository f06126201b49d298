import { randomUUID } from 'node:crypto';
import type { Logger } from '../kernel/logger.js';
import type { Db } from '../db/index.js';
import { deleteHtableKey, dumpHtable, type EdgePollTask, type EdgeRpc } from '../edge/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { blockedCalls } from './metrics.js';
import { e164OfSipUser, edgeKey, patternOfEdgeKey } from './patterns.js';
import { activeEntries, type BlockedNumber } from './store.js';

/** The edge's tables (deploy/kamailio/edge.cfg). */
const BLOCKED = 'blocked';
const BLOCKED_CALLS = 'blockedcalls';

export interface BlocklistEdgeDeps {
  db: Db;
  logger: Logger;
  /** BLOCKLIST_SIP_STATUS: what the edge answers when the entry names no status. */
  defaultSipStatus: number;
  /** Tells the customer-webhook worker a delivery is waiting. */
  kickWebhooks?: () => void;
}

/** Puts one entry into the edge's table (POST /api/numbers/block). */
export async function pushEntry(rpc: EdgeRpc, row: BlockedNumber, defaultSipStatus: number) {
  const key = edgeKey({ digits: row.pattern, isPrefix: row.isPrefix });
  await rpc.call('htable.seti', [BLOCKED, key, row.sipStatus ?? defaultSipStatus]);
}

export async function removeEntry(rpc: EdgeRpc, row: BlockedNumber) {
  await deleteHtableKey(rpc, BLOCKED, edgeKey({ digits: row.pattern, isPrefix: row.isPrefix }));
}

/**
 * Makes the edge's table equal to the entries that block now: adds missing ones, corrects a
 * status, removes expired and deleted ones (and refills an edge that restarted empty). The edge
 * is read before the database, so an entry added or removed by the API meanwhile is never undone.
 */
export async function syncEdgeTable(deps: BlocklistEdgeDeps, rpc: EdgeRpc): Promise<void> {
  const present = await dumpHtable(rpc, BLOCKED);
  const wanted = new Map(
    (await activeEntries(deps.db)).map((row) => [
      edgeKey({ digits: row.pattern, isPrefix: row.isPrefix }),
      row.sipStatus ?? deps.defaultSipStatus,
    ]),
  );
  for (const [key, status] of wanted)
    if (Number(present.get(key)) !== status) await rpc.call('htable.seti', [BLOCKED, key, status]);
  for (const key of present.keys()) if (!wanted.has(key)) await deleteHtableKey(rpc, BLOCKED, key);
}

/** One refused call as the edge recorded it: status|key|caller digits|time|source|called user. */
export interface RefusedCall {
  callId: string;
  sipStatus: number;
  key: string;
  from: string | null;
  to: string | null;
  at: Date;
  source: string;
}

export function parseRefusedCall(callId: string, value: string): RefusedCall | undefined {
  const [status, key, caller, ts, source, ...called] = value.split('|');
  const sipStatus = Number(status);
  const seconds = Number(ts);
  if (!Number.isInteger(sipStatus) || !key || !Number.isFinite(seconds) || source === undefined)
    return undefined;
  return {
    callId,
    sipStatus,
    key,
    from: e164OfSipUser(caller),
    to: e164OfSipUser(called.join('|')),
    at: new Date(seconds * 1000),
    source,
  };
}

/**
 * Records one refused call: a call record with status blocked (once per SIP Call-ID), the
 * entry's hit count, the metric and a call.blocked event. Returns false when already recorded.
 */
async function recordRefusedCall(deps: BlocklistEdgeDeps, call: RefusedCall): Promise<boolean> {
  const pattern = patternOfEdgeKey(call.key);
  return deps.db.transaction().execute(async (tx) => {
    const number = call.to
      ? await tx
          .selectFrom('phoneNumbers')
          .select(['trunkId', 'agentProfileId'])
          .where('number', '=', call.to)
          .executeTakeFirst()
      : undefined;
    const inserted = await tx
      .insertInto('calls')
      .values({
        id: randomUUID(),
        sipCallId: call.callId,
        roomName: null,
        direction: 'inbound',
        channel: 'sip',
        status: 'blocked',
        trunkId: number?.trunkId ?? null,
        agentProfileId: number?.agentProfileId ?? null,
        fromNumber: call.from,
        toNumber: call.to,
        startedAt: call.at,
        endedAt: call.at,
        durationSeconds: 0,
        endReason: 'blocked',
        hungUpBy: 'system',
      })
      .onConflict((oc) => oc.column('sipCallId').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return false;
    if (pattern)
      await tx
        .updateTable('blockedNumbers')
        .set((eb) => ({ hits: eb('hits', '+', 1) }))
        .where('pattern', '=', pattern.digits)
        .where('isPrefix', '=', pattern.isPrefix)
        .execute();
    await publish(tx, 'call.blocked', {
      call_id: inserted.id,
      from_number: call.from,
      to_number: call.to,
      trunk_id: number?.trunkId ?? null,
      at: call.at.toISOString(),
      sip_status: call.sipStatus,
      matched: pattern
        ? pattern.isPrefix
          ? { prefix: pattern.digits }
          : { number: `+${pattern.digits}` }
        : null,
      source_address: call.source,
    });
    return true;
  });
}

/** Turns the calls the edge refused since the last poll into call records, then forgets them. */
export async function drainRefusedCalls(deps: BlocklistEdgeDeps, rpc: EdgeRpc): Promise<number> {
  let recorded = 0;
  for (const [callId, value] of await dumpHtable(rpc, BLOCKED_CALLS)) {
    const call = parseRefusedCall(callId, String(value));
    if (!call)
      deps.logger.warn({ pii: { value: String(value) } }, 'unreadable refused call at the edge');
    else if (await recordRefusedCall(deps, call)) {
      recorded += 1;
      blockedCalls.inc({ kind: patternOfEdgeKey(call.key)?.isPrefix ? 'prefix' : 'number' });
    }
    await deleteHtableKey(rpc, BLOCKED_CALLS, callId);
  }
  if (recorded > 0) deps.kickWebhooks?.();
  return recorded;
}

/** The edge supervisor's poll: keep the table, record refused calls. */
export function blocklistEdgeTask(deps: BlocklistEdgeDeps): EdgePollTask {
  return {
    name: 'blocklist',
    async run(rpc) {
      await syncEdgeTable(deps, rpc);
      await drainRefusedCalls(deps, rpc);
    },
  };
}
