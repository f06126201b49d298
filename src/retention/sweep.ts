import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import { sql, type Db } from '../db/index.js';

export type RetentionSettings = Omit<GatewayConfig['retention'], 'sweepIntervalSeconds'>;

export interface RetentionDeps {
  db: Db;
  logger: Logger;
  settings: RetentionSettings;
}

/** Rows one statement changes at most: short transactions, whatever the backlog. */
const BATCH = 1000;
/** A sweep starts no new batch after this long; the next sweep carries on. */
export const RETENTION_BUDGET_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Runs `batch` (which changes at most BATCH rows and says how many) until fewer come back or the
 * budget is spent. Each batch picks its rows FOR UPDATE SKIP LOCKED, so sweeps of several API
 * processes share the rows instead of waiting on each other.
 */
async function inBatches(until: number, batch: () => Promise<bigint>): Promise<number> {
  let total = 0;
  while (Date.now() < until) {
    const n = Number(await batch());
    total += n;
    if (n < BATCH) break;
  }
  return total;
}

const cutoffOf = (now: Date, days: number) =>
  days > 0 ? new Date(now.getTime() - days * DAY_MS) : undefined;

/**
 * Removes personal data past its retention: empties call transcripts, deletes webhook messages
 * (their deliveries and attempt logs go with them; none still being retried), and deletes raw
 * LiveKit webhooks. A setting of 0 days keeps that kind forever.
 */
export async function sweepRetention(
  deps: RetentionDeps,
  now = new Date(),
  budgetMs = RETENTION_BUDGET_MS,
) {
  const { db, settings } = deps;
  const until = Date.now() + budgetMs;
  const result = { transcripts: 0, webhookMessages: 0, livekitEvents: 0, smsMessages: 0 };

  const transcriptsBefore = cutoffOf(now, settings.transcriptDays);
  if (transcriptsBefore) {
    result.transcripts = await inBatches(until, async () => {
      const picked = db
        .selectFrom('calls')
        .select('id')
        .where('startedAt', '<', transcriptsBefore)
        .where(sql<boolean>`transcript <> '[]'::jsonb`)
        .limit(BATCH)
        .forUpdate()
        .skipLocked();
      const r = await db
        .updateTable('calls')
        .set({ transcript: sql`'[]'::jsonb`, updatedAt: now })
        .where('id', 'in', picked)
        .executeTakeFirst();
      return r.numUpdatedRows;
    });
  }

  const messagesBefore = cutoffOf(now, settings.webhookDeliveryDays);
  if (messagesBefore) {
    result.webhookMessages = await inBatches(until, async () => {
      const picked = db
        .selectFrom('webhookMessages as m')
        .select('m.id')
        .where('m.createdAt', '<', messagesBefore)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('webhookDeliveries as d')
                .select('d.id')
                .whereRef('d.messageId', '=', 'm.id')
                .where('d.status', '=', 'pending'),
            ),
          ),
        )
        .limit(BATCH)
        .forUpdate()
        .skipLocked();
      const r = await db.deleteFrom('webhookMessages').where('id', 'in', picked).executeTakeFirst();
      return r.numDeletedRows;
    });
  }

  const eventsBefore = cutoffOf(now, settings.livekitEventDays);
  if (eventsBefore) {
    result.livekitEvents = await inBatches(until, async () => {
      const picked = db
        .selectFrom('livekitEvents')
        .select('id')
        .where('receivedAt', '<', eventsBefore)
        .limit(BATCH)
        .forUpdate()
        .skipLocked();
      const r = await db.deleteFrom('livekitEvents').where('id', 'in', picked).executeTakeFirst();
      return r.numDeletedRows;
    });
  }

  const smsBefore = cutoffOf(now, settings.smsDays);
  if (smsBefore) {
    result.smsMessages = await inBatches(until, async () => {
      const picked = db
        .selectFrom('smsMessages')
        .select('id')
        .where('createdAt', '<', smsBefore)
        .where('status', '!=', 'queued')
        .where((eb) => eb.or([eb('replyState', 'is', null), eb('replyState', '!=', 'pending')]))
        .limit(BATCH)
        .forUpdate()
        .skipLocked();
      const r = await db.deleteFrom('smsMessages').where('id', 'in', picked).executeTakeFirst();
      return r.numDeletedRows;
    });
  }

  if (result.transcripts + result.webhookMessages + result.livekitEvents + result.smsMessages > 0) {
    deps.logger.info(result, 'personal data past its retention removed');
  }
  return result;
}
