import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Db, type NewWebhookDelivery } from '../../db/index.js';
import type { WebhookEventType } from './events.js';

/**
 * Records an event for every enabled endpoint subscribed to it (and a per-call URL when given),
 * in the caller's transaction: each delivery is a row before anything is sent. The delivery
 * worker picks them up.
 */
export async function publish(
  db: Db,
  type: WebhookEventType,
  data: Record<string, unknown>,
  options: { callWebhookUrl?: string | null; callId?: string } = {},
): Promise<string> {
  const id = `msg_${randomBytes(16).toString('base64url')}`;
  const payload = { type, timestamp: new Date().toISOString(), data };
  await db
    .insertInto('webhookMessages')
    .values({ id, eventType: type, payload: JSON.stringify(payload) })
    .execute();
  const endpoints = await db
    .selectFrom('webhookEndpoints')
    .select('id')
    .where('enabled', '=', true)
    .where((eb) =>
      eb.or([sql<boolean>`cardinality(event_types) = 0`, sql<boolean>`${type} = ANY(event_types)`]),
    )
    .execute();
  const now = new Date();
  const rows: NewWebhookDelivery[] = endpoints.map((e) => ({
    id: randomUUID(),
    messageId: id,
    endpointId: e.id,
    nextAttemptAt: now,
  }));
  if (options.callWebhookUrl) {
    rows.push({
      id: randomUUID(),
      messageId: id,
      endpointId: null,
      url: options.callWebhookUrl,
      callId: options.callId ?? null,
      nextAttemptAt: now,
    });
  }
  if (rows.length > 0) await db.insertInto('webhookDeliveries').values(rows).execute();
  return id;
}
