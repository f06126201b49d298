import type { Db } from '../db/index.js';
import { publishSms } from './store.js';
import { isUuid } from '../kernel/uuid.js';

/**
 * Delivery reports as IMDN (RFC 5438): the gateway asks for them on every MESSAGE it sends
 * (imdn.Message-ID is the message's id), and a provider that supports them sends back a MESSAGE
 * of type message/imdn+xml naming that id with <delivered/> or <failed/>.
 */

export function imdnHeaders(id: string, at = new Date()): string[] {
  return [
    'NS: imdn <urn:ietf:params:imdn>',
    `imdn.Message-ID: ${id}`,
    'imdn.Disposition-Notification: positive-delivery, negative-delivery',
    `DateTime: ${at.toISOString()}`,
  ];
}

export interface DeliveryReport {
  messageId: string;
  outcome: 'delivered' | 'failed';
  /** The status element as the provider wrote it (delivered, failed, forbidden, error). */
  status: string;
}

/** Reads a delivery notification; undefined for anything else (display notifications too). */
export function parseDeliveryReport(xml: string): DeliveryReport | undefined {
  if (xml.length > 16_384) return undefined;
  const messageId = /<message-id>\s*([^<\s]+)\s*<\/message-id>/i.exec(xml)?.[1];
  const block = /<delivery-notification>([\s\S]*?)<\/delivery-notification>/i.exec(xml)?.[1];
  const status = block && /<status>\s*<([a-z-]+)\s*\/>/i.exec(block)?.[1]?.toLowerCase();
  if (!messageId || !isUuid(messageId) || !status) return undefined;
  return { messageId, outcome: status === 'delivered' ? 'delivered' : 'failed', status };
}

/**
 * Applies a report from the provider of `trunkId` to the message it names, if that message went
 * out over the same trunk and has been sent: delivered (sms.delivered) or failed (sms.failed).
 * A report for anything else changes nothing.
 */
export async function applyDeliveryReport(
  db: Db,
  trunkId: string,
  report: DeliveryReport,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const now = new Date();
    const row = await tx
      .updateTable('smsMessages')
      .set(
        report.outcome === 'delivered'
          ? { status: 'delivered', deliveredAt: now, updatedAt: now }
          : { status: 'failed', lastReason: `delivery report: ${report.status}`, updatedAt: now },
      )
      .where('id', '=', report.messageId)
      .where('direction', '=', 'outbound')
      .where('trunkId', '=', trunkId)
      .where('status', '=', 'sent')
      .returningAll()
      .executeTakeFirst();
    if (!row) return false;
    await publishSms(tx, report.outcome === 'delivered' ? 'sms.delivered' : 'sms.failed', row);
    return true;
  });
}
