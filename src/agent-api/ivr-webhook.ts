import { randomUUID } from 'node:crypto';
import { Webhook } from 'svix';
import { z } from 'zod';
import type { IvrWebhookAnswer, IvrWebhookRequest } from '../contract/index.js';
import type { Db } from '../db/index.js';
import { GatewayError } from '../errors/index.js';
import { RefusedTarget, resolveTarget, send } from '../webhooks/outbound/index.js';

export interface IvrWebhookDeps {
  db: Db;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: as for every customer URL. */
  allowPrivateTargets: boolean;
  /** Signs the request (the per-call webhook secret, Standard Webhooks). */
  secret: string;
}

const answerSchema = z.object({ say: z.string().trim().min(1).max(1000).optional() }).loose();

/**
 * A menu's webhook: POSTs the key and digits to the profile's URL, checked and pinned like a
 * customer webhook (internal addresses refused unless allowed, no redirects, 1 KiB read), signed
 * with the per-call webhook secret, and returns the `say` of its JSON answer.
 */
export async function callIvrWebhook(
  deps: IvrWebhookDeps,
  input: IvrWebhookRequest,
): Promise<IvrWebhookAnswer> {
  const call = await deps.db
    .selectFrom('calls')
    .select(['id', 'fromNumber', 'toNumber'])
    .where('roomName', '=', input.room_name)
    .where('participantIdentity', '=', input.participant_identity)
    .orderBy('startedAt', 'desc')
    .executeTakeFirst();
  let target;
  try {
    target = await resolveTarget(input.url, deps.allowPrivateTargets);
  } catch (error) {
    if (error instanceof RefusedTarget)
      throw new GatewayError('refused_target', error.message, {}, { cause: error });
    throw new GatewayError(
      'webhook_failed',
      `the menu's webhook URL could not be resolved`,
      {},
      { cause: error },
    );
  }
  const body = JSON.stringify({
    type: 'ivr.input',
    call: {
      id: call?.id ?? null,
      from_number: call?.fromNumber ?? null,
      to_number: call?.toNumber ?? null,
    },
    menu: input.menu,
    key: input.key,
    digits: input.digits,
  });
  const id = `msg_${randomUUID()}`;
  const at = new Date();
  const ms = input.timeout_seconds * 1000;
  let answer;
  try {
    answer = await send(
      target,
      {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(deps.secret).sign(id, at, body),
      },
      body,
      { at: Date.now() + ms, ms },
    );
  } catch (error) {
    throw new GatewayError(
      'webhook_failed',
      `the menu's webhook did not answer: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new GatewayError('webhook_failed', `the menu's webhook answered HTTP ${answer.status}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new GatewayError('webhook_failed', `the menu's webhook answered no JSON`);
  }
  const result = answerSchema.safeParse(parsed);
  if (!result.success)
    throw new GatewayError('webhook_failed', `the menu's webhook answer has no usable say`);
  return { say: result.data.say ?? null };
}
