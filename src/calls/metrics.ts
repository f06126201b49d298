import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';
import type { Db } from '../db/index.js';
import { OPEN_CALL_STATUSES } from './statuses.js';

export const callsEnded = new Counter({
  name: 'voice_gateway_calls_ended_total',
  help: 'Calls whose record closed, by direction, outcome (ended: answered; failed: never answered) and end reason',
  labelNames: ['direction', 'outcome', 'end_reason'],
  registers: [metricsRegistry],
});

export const sipFailures = new Counter({
  name: 'voice_gateway_sip_failures_total',
  help: 'Outbound dials and transfers LiveKit SIP reported failed, by operation and final SIP status (0: none known)',
  labelNames: ['operation', 'sip_status'],
  registers: [metricsRegistry],
});

export function countSipFailure(operation: 'dial' | 'transfer', sipStatus: number | null): void {
  sipFailures.inc({ operation, sip_status: String(sipStatus ?? 0) });
}

// The database this process's API serves; open calls are read from it at scrape time.
let openCallsDb: Db | undefined;

new Gauge({
  name: 'voice_gateway_calls_open',
  help: 'Open calls (ringing or active) in the database, by trunk, direction and status. Every API process reports the same figure: aggregate with max, not sum',
  labelNames: ['trunk_id', 'direction', 'status'],
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    if (!openCallsDb) return;
    const rows = await openCallsDb
      .selectFrom('calls')
      .leftJoin('trunks', 'trunks.id', 'calls.trunkId')
      .select(['trunks.trunkId as slug', 'calls.direction', 'calls.status'])
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('calls.status', 'in', [...OPEN_CALL_STATUSES])
      .groupBy(['trunks.trunkId', 'calls.direction', 'calls.status'])
      .execute()
      // A scrape while the database is away shows no open calls rather than failing whole.
      .catch(() => []);
    for (const row of rows) {
      this.set(
        { trunk_id: row.slug ?? 'none', direction: row.direction, status: row.status },
        Number(row.count),
      );
    }
  },
});

/** Lets /metrics read open calls from `db` until the returned function is called. */
export function reportOpenCalls(db: Db): () => void {
  openCallsDb = db;
  return () => {
    if (openCallsDb === db) openCallsDb = undefined;
  };
}
