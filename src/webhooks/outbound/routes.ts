import { randomBytes, randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../audit/index.js';
import { sql, type Db, type SecretBox } from '../../db/index.js';
import type { WebhookDelivery as WebhookDeliveryTable } from '../../db/generated/kysely.js';
import type { Selectable } from 'kysely';
import { actorOf, requireRole } from '../../http-kit/auth.js';
import { parseBody } from '../../http-kit/errors.js';
import { GatewayError, notFound } from '../../errors/index.js';
import { pathParam } from '../../http-kit/params.js';
import { webhookEventTypes } from './events.js';
import { isUuid } from '../../kernel/uuid.js';

export interface EndpointRoutesDeps {
  db: Db;
  box: SecretBox;
  secretGraceMs: number;
  /** Tells the delivery worker to look for due deliveries now. */
  kick: () => void;
}

const url = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');
const eventTypes = z.array(z.enum(webhookEventTypes)).max(webhookEventTypes.length);
const createSchema = z
  .object({
    url,
    event_types: eventTypes.default([]),
    description: z.string().max(200).optional(),
    enabled: z.boolean().default(true),
  })
  .strict();
const updateSchema = z
  .object({
    url: url.optional(),
    event_types: eventTypes.optional(),
    description: z.string().max(200).nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
const pageSchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});

/** A `whsec_` secret like Svix's: 24 random bytes, base64. */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

type EndpointRow = {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  failingSince: Date | null;
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

const view = (e: EndpointRow) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  event_types: e.eventTypes,
  enabled: e.enabled,
  disabled_reason: e.disabledReason,
  failing_since: e.failingSince?.toISOString() ?? null,
  previous_secret_valid_until: e.previousSecretExpiresAt?.toISOString() ?? null,
  created_at: e.createdAt.toISOString(),
  updated_at: e.updatedAt.toISOString(),
});

/** /api/webhook-endpoints and /api/webhook-deliveries/:id/replay. */
export function webhookEndpointsRouter(deps: EndpointRoutesDeps): Router {
  const r = Router();
  const { db } = deps;
  const find = async (id: string) => {
    const row = isUuid(id)
      ? await db.selectFrom('webhookEndpoints').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!row) throw notFound('webhook endpoint', id);
    return row;
  };

  r.get('/webhook-endpoints', requireRole('viewer'), async (_req, res) => {
    const rows = await db.selectFrom('webhookEndpoints').selectAll().orderBy('createdAt').execute();
    res.json({ items: rows.map(view) });
  });
  r.get('/webhook-endpoints/:id', requireRole('viewer'), async (req, res) => {
    res.json(view(await find(pathParam(req))));
  });
  r.post('/webhook-endpoints', requireRole('admin'), async (req, res) => {
    const input = parseBody(createSchema, req.body);
    const secret = newSecret();
    const row = await db.transaction().execute(async (tx) => {
      const created = await tx
        .insertInto('webhookEndpoints')
        .values({
          id: randomUUID(),
          url: input.url,
          description: input.description ?? null,
          eventTypes: input.event_types,
          enabled: input.enabled,
          secretEnc: deps.box.encrypt(secret),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, actorOf(req), {
        action: 'webhook_endpoint.create',
        entityType: 'webhook_endpoint',
        entityId: created.id,
        details: view(created),
      });
      return created;
    });
    res.status(201).json({ ...view(row), secret });
  });
  r.put('/webhook-endpoints/:id', requireRole('admin'), async (req, res) => {
    const current = await find(pathParam(req));
    const input = parseBody(updateSchema, req.body);
    const reenabled = input.enabled === true && !current.enabled;
    const row = await db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('webhookEndpoints')
        .set({
          ...(input.url ? { url: input.url } : {}),
          ...(input.event_types ? { eventTypes: input.event_types } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
          ...(reenabled ? { disabledReason: null, failingSince: null } : {}),
          updatedAt: new Date(),
        })
        .where('id', '=', current.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, actorOf(req), {
        action: 'webhook_endpoint.update',
        entityType: 'webhook_endpoint',
        entityId: current.id,
        details: { before: view(current), after: view(updated) },
      });
      return updated;
    });
    res.json(view(row));
  });
  r.delete('/webhook-endpoints/:id', requireRole('admin'), async (req, res) => {
    const current = await find(pathParam(req));
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('webhookEndpoints').where('id', '=', current.id).execute();
      await audit(tx, actorOf(req), {
        action: 'webhook_endpoint.delete',
        entityType: 'webhook_endpoint',
        entityId: current.id,
        details: view(current),
      });
    });
    res.status(204).end();
  });
  r.post('/webhook-endpoints/:id/rotate-secret', requireRole('admin'), async (req, res) => {
    const current = await find(pathParam(req));
    const secret = newSecret();
    const validUntil = new Date(Date.now() + deps.secretGraceMs);
    await db.transaction().execute(async (tx) => {
      await tx
        .updateTable('webhookEndpoints')
        .set({
          secretEnc: deps.box.encrypt(secret),
          previousSecretEnc: current.secretEnc,
          previousSecretExpiresAt: validUntil,
          updatedAt: new Date(),
        })
        .where('id', '=', current.id)
        .execute();
      await audit(tx, actorOf(req), {
        action: 'webhook_endpoint.rotate_secret',
        entityType: 'webhook_endpoint',
        entityId: current.id,
        details: { previous_secret_valid_until: validUntil.toISOString() },
      });
    });
    res.json({ id: current.id, secret, previous_secret_valid_until: validUntil.toISOString() });
  });
  r.get('/webhook-endpoints/:id/deliveries', requireRole('viewer'), async (req, res) => {
    const endpoint = await find(pathParam(req));
    const q = parseBody(pageSchema, req.query);
    const rows = await db
      .selectFrom('webhookDeliveries')
      .innerJoin('webhookMessages', 'webhookMessages.id', 'webhookDeliveries.messageId')
      .selectAll('webhookDeliveries')
      .select('webhookMessages.eventType')
      .where('endpointId', '=', endpoint.id)
      .orderBy('webhookDeliveries.createdAt', 'desc')
      .offset((q.page - 1) * q.per_page)
      .limit(q.per_page)
      .execute();
    res.json({ page: q.page, per_page: q.per_page, items: await withAttempts(db, rows) });
  });
  // A call's deliveries: its per-call webhook and every endpoint's events about it.
  r.get('/calls/:id/webhook-deliveries', requireRole('viewer'), async (req, res) => {
    const id = pathParam(req);
    if (!isUuid(id)) throw notFound('call', id);
    const rows = await db
      .selectFrom('webhookDeliveries')
      .innerJoin('webhookMessages', 'webhookMessages.id', 'webhookDeliveries.messageId')
      .selectAll('webhookDeliveries')
      .select('webhookMessages.eventType')
      .where((eb) =>
        eb.or([
          eb('webhookDeliveries.callId', '=', id),
          eb(sql<string>`webhook_messages.payload->'data'->>'call_id'`, '=', id),
        ]),
      )
      .orderBy('webhookDeliveries.createdAt', 'desc')
      .limit(200)
      .execute();
    res.json({ items: await withAttempts(db, rows) });
  });
  r.post('/webhook-deliveries/:id/replay', requireRole('operator'), async (req, res) => {
    const id = pathParam(req);
    const delivery = isUuid(id)
      ? await db.selectFrom('webhookDeliveries').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!delivery) throw notFound('webhook delivery', id);
    if (delivery.status === 'pending')
      throw new GatewayError('conflict', 'the delivery is still being attempted');
    await db.transaction().execute(async (tx) => {
      await tx
        .updateTable('webhookDeliveries')
        .set({ status: 'pending', nextAttemptAt: new Date(), succeededAt: null })
        .where('id', '=', id)
        .execute();
      await audit(tx, actorOf(req), {
        action: 'webhook_delivery.replay',
        entityType: 'webhook_delivery',
        entityId: id,
      });
    });
    deps.kick();
    res.status(202).json({ id, status: 'pending', message_id: delivery.messageId });
  });
  return r;
}

type DeliveryRow = Selectable<WebhookDeliveryTable> & { eventType: string };

/** Deliveries as the API shows them, each with its attempts. */
async function withAttempts(db: Db, rows: DeliveryRow[]) {
  const attempts = rows.length
    ? await db
        .selectFrom('webhookAttempts')
        .selectAll()
        .where(
          'deliveryId',
          'in',
          rows.map((d) => d.id),
        )
        .orderBy('at')
        .execute()
    : [];
  return rows.map((d) => ({
    id: d.id,
    message_id: d.messageId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    last_status: d.lastStatus,
    last_error: d.lastError,
    succeeded_at: d.succeededAt?.toISOString() ?? null,
    attempt_log: attempts
      .filter((a) => a.deliveryId === d.id)
      .map((a) => ({
        at: a.at.toISOString(),
        status: a.status,
        error: a.error,
        duration_ms: a.durationMs,
        response: a.response,
      })),
  }));
}
