import { Webhook } from 'svix';
import { audit, systemActor } from '../../audit/index.js';
import type { GatewayConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/logger.js';
import type { Db, SecretBox } from '../../db/index.js';
import { publish } from './publish.js';
import { send } from './send.js';
import { resolveTarget } from './targets.js';
import { deliveryAttempts, deliveryLag } from './metrics.js';

export interface AttemptDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  settings: GatewayConfig['webhooksOut'];
  /** Signs per-call deliveries. */
  callSecret: string;
}

/** Delay before attempt `n + 1` after `n` failed ones, from the schedule with ±20% jitter. */
export function nextDelayMs(
  schedule: number[],
  failedAttempts: number,
  retryAfterMs?: number,
): number | undefined {
  const base = schedule[failedAttempts - 1];
  if (base === undefined) return undefined;
  const jittered = base * (0.8 + Math.random() * 0.4);
  return Math.min(Math.max(jittered, retryAfterMs ?? 0), 24 * 3_600_000);
}

/** Standard Webhooks signatures: one per secret, space-separated (old and new during rotation). */
function signatures(secrets: string[], id: string, at: Date, body: string): string {
  return secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(' ');
}

/**
 * How long an attempt holds its delivery: the attempt's deadline and then the lock time for
 * recording it. A delivery whose attempt died unrecorded (process gone, database restarted)
 * is due again when this runs out.
 */
export function leaseMs(settings: GatewayConfig['webhooksOut']): number {
  return settings.timeoutMs + settings.jobLockMs;
}

/** Rejects with `message` when `work` has not settled within `ms`. */
async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One attempt of one delivery, recorded whatever happens. Returns what the worker should do next.
 * `dueAt` is the due time the job was queued for: the attempt first moves it a lease ahead
 * (record before send), so a job for a due time already taken, or a stale copy of it, does
 * nothing, and an attempt that dies before recording leaves the delivery due again when the
 * lease ends, with a new job.
 */
export async function attemptDelivery(
  deps: AttemptDeps,
  deliveryId: string,
  dueAt?: Date,
): Promise<'done' | 'retry'> {
  const { db } = deps;
  const claimed = await db
    .updateTable('webhookDeliveries')
    .set({ nextAttemptAt: new Date(Date.now() + leaseMs(deps.settings)) })
    .where('id', '=', deliveryId)
    .where('status', '=', 'pending')
    .where('nextAttemptAt', dueAt ? '=' : '<=', dueAt ?? new Date())
    .returning('id')
    .executeTakeFirst();
  if (!claimed) return 'done';
  const delivery = await db
    .selectFrom('webhookDeliveries')
    .innerJoin('webhookMessages', 'webhookMessages.id', 'webhookDeliveries.messageId')
    .leftJoin('webhookEndpoints', 'webhookEndpoints.id', 'webhookDeliveries.endpointId')
    .select([
      'webhookDeliveries.id',
      'webhookDeliveries.status',
      'webhookDeliveries.attempts',
      'webhookDeliveries.url as callUrl',
      'webhookDeliveries.endpointId',
      'webhookDeliveries.createdAt',
      'webhookMessages.id as messageId',
      'webhookMessages.payload',
      'webhookEndpoints.url as endpointUrl',
      'webhookEndpoints.enabled',
      'webhookEndpoints.secretEnc',
      'webhookEndpoints.previousSecretEnc',
      'webhookEndpoints.previousSecretExpiresAt',
      'webhookEndpoints.failingSince',
    ])
    .where('webhookDeliveries.id', '=', deliveryId)
    .executeTakeFirst();
  if (!delivery || delivery.status !== 'pending') return 'done';
  if (delivery.endpointId && !delivery.enabled) {
    await db
      .updateTable('webhookDeliveries')
      .set({ status: 'disabled' })
      .where('id', '=', deliveryId)
      .execute();
    return 'done';
  }
  const url = delivery.endpointUrl ?? delivery.callUrl ?? '';
  const secrets = delivery.secretEnc ? [deps.box.decrypt(delivery.secretEnc)] : [deps.callSecret];
  if (
    delivery.previousSecretEnc &&
    delivery.previousSecretExpiresAt &&
    delivery.previousSecretExpiresAt > new Date()
  ) {
    secrets.push(deps.box.decrypt(delivery.previousSecretEnc));
  }
  const body = JSON.stringify(delivery.payload);
  const at = new Date();
  const started = Date.now();
  let status: number | null = null;
  let error: string | null = null;
  let response: string | null = null;
  let retryAfterMs: number | undefined;
  // One deadline for the whole attempt: the name lookup, the connection and the answer.
  const deadlineMs = deps.settings.timeoutMs;
  try {
    const target = await within(
      resolveTarget(url, deps.settings.allowPrivateTargets),
      deadlineMs,
      `no address for the host within ${deadlineMs} ms (WEBHOOK_TIMEOUT_MS)`,
    );
    const result = await send(
      target,
      {
        'content-type': 'application/json',
        'user-agent': 'voice-gateway-webhooks',
        'webhook-id': delivery.messageId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signatures(secrets, delivery.messageId, at, body),
      },
      body,
      { at: started + deadlineMs, ms: deadlineMs },
    );
    status = result.status;
    response = result.body;
    retryAfterMs = result.retryAfterMs;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const ok = status !== null && status >= 200 && status < 300;
  deliveryAttempts.inc({ result: ok ? 'ok' : status === null ? 'no_answer' : 'http_error' });
  if (ok) deliveryLag.observe((Date.now() - delivery.createdAt.getTime()) / 1000);
  const attempts = delivery.attempts + 1;
  await db
    .insertInto('webhookAttempts')
    .values({ deliveryId, at, status, error, durationMs: Date.now() - started, response })
    .execute();
  const base = {
    attempts,
    lastAttemptAt: at,
    lastStatus: status,
    lastError: error ?? (ok ? null : `HTTP ${status}`),
  };

  if (ok) {
    await db
      .updateTable('webhookDeliveries')
      .set({ ...base, status: 'succeeded', succeededAt: new Date(), nextAttemptAt: null })
      .where('id', '=', deliveryId)
      .execute();
    if (delivery.endpointId) {
      await db
        .updateTable('webhookEndpoints')
        .set({ failingSince: null })
        .where('id', '=', delivery.endpointId)
        .execute();
    }
    return 'done';
  }
  // Disabling the endpoint stops its other pending deliveries; this one records its attempt.
  const giveUp = async (endpointId: string, reason: string) => {
    await disableEndpoint(deps, endpointId, reason);
    await db
      .updateTable('webhookDeliveries')
      .set({ ...base, status: 'disabled', nextAttemptAt: null })
      .where('id', '=', deliveryId)
      .execute();
    return 'done' as const;
  };
  if (status === 410 && delivery.endpointId) {
    return giveUp(delivery.endpointId, 'the endpoint answered 410 Gone');
  }
  if (delivery.endpointId) {
    const failingSince = delivery.failingSince ?? at;
    if (!delivery.failingSince) {
      await db
        .updateTable('webhookEndpoints')
        .set({ failingSince })
        .where('id', '=', delivery.endpointId)
        .execute();
    }
    if (at.getTime() - failingSince.getTime() > deps.settings.disableAfterMs) {
      return giveUp(delivery.endpointId, `failing since ${failingSince.toISOString()}`);
    }
  }
  const delay = nextDelayMs(deps.settings.retryScheduleMs, attempts, retryAfterMs);
  await db
    .updateTable('webhookDeliveries')
    .set(
      delay === undefined
        ? { ...base, status: 'failed', nextAttemptAt: null }
        : { ...base, nextAttemptAt: new Date(Date.now() + delay) },
    )
    .where('id', '=', deliveryId)
    .execute();
  return delay === undefined ? 'done' : 'retry';
}

/** Disables an endpoint, stops its pending deliveries, and says so (audit, endpoint.disabled). */
export async function disableEndpoint(
  deps: AttemptDeps,
  endpointId: string,
  reason: string,
): Promise<void> {
  await deps.db.transaction().execute(async (tx) => {
    const endpoint = await tx
      .updateTable('webhookEndpoints')
      .set({ enabled: false, disabledReason: reason, updatedAt: new Date() })
      .where('id', '=', endpointId)
      .where('enabled', '=', true)
      .returning(['id', 'url'])
      .executeTakeFirst();
    if (!endpoint) return;
    await tx
      .updateTable('webhookDeliveries')
      .set({ status: 'disabled', nextAttemptAt: null })
      .where('endpointId', '=', endpointId)
      .where('status', '=', 'pending')
      .execute();
    await audit(tx, systemActor, {
      action: 'webhook_endpoint.disable',
      entityType: 'webhook_endpoint',
      entityId: endpointId,
      details: { reason },
    });
    await publish(tx, 'endpoint.disabled', { endpoint_id: endpointId, url: endpoint.url, reason });
  });
  deps.logger.warn({ endpoint: endpointId, reason }, 'webhook endpoint disabled');
}
