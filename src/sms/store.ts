import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { DB, Db } from '../db/index.js';
import { publish } from '../webhooks/outbound/index.js';
import { countSegments } from './segments.js';

export type SmsMessage = Selectable<DB['smsMessages']>;

/** The API's (and the webhooks') view of a message. Numbers and text are personal data. */
export function serializeSms(row: SmsMessage, trunkSlug?: string | null) {
  return {
    id: row.id,
    direction: row.direction,
    status: row.status,
    from_number: row.fromNumber,
    to_number: row.toNumber,
    message: row.body,
    encoding: row.encoding,
    segments: row.segments,
    trunk_id: trunkSlug ?? null,
    in_reply_to: row.inReplyToId,
    attempts: row.attempts,
    sip_status: row.lastStatus,
    sip_reason: row.lastReason,
    created_at: row.createdAt.toISOString(),
    sent_at: row.sentAt?.toISOString() ?? null,
    delivered_at: row.deliveredAt?.toISOString() ?? null,
  };
}

async function trunkSlug(db: Db, trunkId: string | null): Promise<string | null> {
  if (!trunkId) return null;
  const t = await db
    .selectFrom('trunks')
    .select('trunkId')
    .where('id', '=', trunkId)
    .executeTakeFirst();
  return t?.trunkId ?? null;
}

/** Publishes sms.<event> for `row`, to the endpoints and the message's own webhook_url. */
export async function publishSms(
  db: Db,
  event: 'sms.received' | 'sms.sent' | 'sms.delivered' | 'sms.failed',
  row: SmsMessage,
): Promise<void> {
  await publish(db, event, serializeSms(row, await trunkSlug(db, row.trunkId)), {
    callWebhookUrl: row.webhookUrl,
  });
}

export interface InboundSms {
  fromNumber: string;
  toNumber: string;
  body: string;
  trunkId: string | null;
  sipCallId: string;
  sipCseq: number;
  sourceAddress: string;
  /** Whether the number's agent will be asked for a reply. */
  reply: boolean;
}

/**
 * Stores a received message and its sms.received webhook in one transaction. A retransmission
 * (same Call-ID and CSeq) stores nothing and returns the first copy's row.
 */
export async function storeInbound(
  db: Db,
  sms: InboundSms,
): Promise<{ row: SmsMessage; duplicate: boolean }> {
  return db.transaction().execute(async (tx) => {
    const measured = countSegments(sms.body);
    const row = await tx
      .insertInto('smsMessages')
      .values({
        id: randomUUID(),
        direction: 'inbound',
        status: 'received',
        fromNumber: sms.fromNumber,
        toNumber: sms.toNumber,
        body: sms.body,
        encoding: measured.encoding,
        segments: measured.segments,
        trunkId: sms.trunkId,
        sipCallId: sms.sipCallId,
        sipCseq: sms.sipCseq,
        sourceAddress: sms.sourceAddress,
        replyState: sms.reply ? 'pending' : 'off',
        nextAttemptAt: sms.reply ? new Date() : null,
      })
      .onConflict((oc) => oc.columns(['sipCallId', 'sipCseq']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      const first = await tx
        .selectFrom('smsMessages')
        .selectAll()
        .where('sipCallId', '=', sms.sipCallId)
        .where('sipCseq', '=', sms.sipCseq)
        .executeTakeFirstOrThrow();
      return { row: first, duplicate: true };
    }
    await publishSms(tx, 'sms.received', row);
    return { row, duplicate: false };
  });
}

export interface OutboundSms {
  fromNumber: string;
  toNumber: string;
  body: string;
  trunkId: string;
  webhookUrl?: string | null;
  inReplyToId?: string | null;
}

/** A message to send, queued in the caller's transaction: due now. */
export async function queueOutbound(tx: Db, sms: OutboundSms): Promise<SmsMessage> {
  const measured = countSegments(sms.body);
  return tx
    .insertInto('smsMessages')
    .values({
      id: randomUUID(),
      direction: 'outbound',
      status: 'queued',
      fromNumber: sms.fromNumber,
      toNumber: sms.toNumber,
      body: sms.body,
      encoding: measured.encoding,
      segments: measured.segments,
      trunkId: sms.trunkId,
      webhookUrl: sms.webhookUrl ?? null,
      inReplyToId: sms.inReplyToId ?? null,
      nextAttemptAt: new Date(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The conversation between two numbers before `before`, oldest first (at most `limit`). */
export async function conversation(
  db: Db,
  ourNumber: string,
  theirNumber: string,
  before: Date,
  limit: number,
): Promise<SmsMessage[]> {
  if (limit === 0) return [];
  const rows = await db
    .selectFrom('smsMessages')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb('fromNumber', '=', theirNumber), eb('toNumber', '=', ourNumber)]),
        eb.and([eb('fromNumber', '=', ourNumber), eb('toNumber', '=', theirNumber)]),
      ]),
    )
    .where('createdAt', '<', before)
    .where('status', '!=', 'failed')
    .orderBy('createdAt', 'desc')
    .limit(limit)
    .execute();
  return rows.reverse();
}
