import express, { Router } from 'express';
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import { Counter } from 'prom-client';
import { applyLivekitEvent, callEventNames } from './livekit-events.js';
import type { Logger } from '../kernel/logger.js';
import { metricsRegistry } from '../kernel/metrics.js';
import type { Db } from '../db/index.js';
import { GatewayError } from '../errors/index.js';

/** Event names LiveKit sends today; anything else is logged and ignored, not stored. */
const knownEvents = new Set([
  ...callEventNames,
  'room_started',
  'track_unpublished',
  'egress_started',
  'egress_updated',
  'egress_ended',
  'ingress_started',
  'ingress_ended',
]);

const received = new Counter({
  name: 'voice_gateway_livekit_webhooks_total',
  help: 'LiveKit webhooks by event and outcome (stored, duplicate, ignored, rejected)',
  labelNames: ['event', 'outcome'],
  registers: [metricsRegistry],
});

export interface LivekitWebhookOptions {
  db: Db;
  logger: Logger;
  apiKey: string;
  apiSecret: string;
  bodyLimit: string;
  /** Seconds of clock skew accepted on the token's times. */
  clockToleranceSeconds: number;
  /** Called after a new call event was stored and applied (committed). */
  onApplied?: (event: WebhookEvent) => void;
  /** This installation's id: another installation's calls are stored, never applied. */
  installation: string;
}

function rejected(reason: string, message: string): GatewayError {
  received.inc({ event: 'unknown', outcome: 'rejected' });
  return new GatewayError('invalid_webhook', message, { reason });
}

/**
 * POST /webhooks/livekit: verifies LiveKit's signature (a JWT in Authorization whose sha256 claim
 * is the raw body's hash) before anything is parsed or stored, stores each event once by its id,
 * and applies it to the call records in the same transaction.
 */
export function livekitWebhookRouter(options: LivekitWebhookOptions): Router {
  const receiver = new WebhookReceiver(options.apiKey, options.apiSecret);
  const r = Router();
  r.post(
    '/webhooks/livekit',
    express.raw({ type: () => true, limit: options.bodyLimit }),
    async (req, res) => {
      const auth = req.get('authorization');
      if (!auth)
        throw rejected(
          'missing_authorization',
          'missing Authorization header: LiveKit signs each webhook with a JWT',
        );
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      let event: WebhookEvent;
      try {
        event = await receiver.receive(body, auth, false, options.clockToleranceSeconds);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof SyntaxError) {
          received.inc({ event: 'unknown', outcome: 'rejected' });
          options.logger.warn({ reason: 'malformed_json' }, 'livekit webhook rejected');
          throw new GatewayError(
            'invalid_json',
            `signed body is not valid JSON: ${message}`,
            {},
            {
              cause: error,
            },
          );
        }
        const reason = /sha256/.test(message)
          ? 'body_altered'
          : /exp/.test(message)
            ? 'token_expired'
            : 'bad_signature';
        options.logger.warn({ reason }, 'livekit webhook rejected');
        throw rejected(reason, `webhook signature rejected: ${message}`);
      }
      if (!knownEvents.has(event.event) || !event.id) {
        received.inc({ event: 'unknown', outcome: 'ignored' });
        options.logger.warn(
          { reason: 'unknown_event', event: event.event },
          'livekit webhook ignored',
        );
        res
          .status(202)
          .json({ ignored: true, reason: `unknown event type ${JSON.stringify(event.event)}` });
        return;
      }
      const row = {
        id: event.id,
        event: event.event,
        roomName: event.room?.name ?? null,
        createdAt: event.createdAt ? new Date(Number(event.createdAt) * 1000) : new Date(),
        appliedAt: new Date(),
        payload: body,
      };
      const insert = (db: Db) =>
        db
          .insertInto('livekitEvents')
          .values(row)
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
      // An event that changes no call record is stored by one statement; one that does is stored
      // and applied in one transaction, so a stored event is always an applied one.
      const stored = callEventNames.has(event.event)
        ? await options.db.transaction().execute(async (tx) => {
            const inserted = await insert(tx);
            if (inserted) await applyLivekitEvent(tx, event, options.installation);
            return Boolean(inserted);
          })
        : Boolean(await insert(options.db));
      received.inc({ event: event.event, outcome: stored ? 'stored' : 'duplicate' });
      if (stored && callEventNames.has(event.event)) options.onApplied?.(event);
      res.status(200).json({ id: event.id, duplicate: !stored });
    },
  );
  return r;
}
