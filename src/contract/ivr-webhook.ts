import { z } from 'zod';

/**
 * POST /internal/agent/calls/ivr-webhook: a menu's webhook action. The API makes the request
 * (the same SSRF checks and signatures as customer webhooks), the host says the answer.
 */
export const ivrWebhookRequestSchema = z
  .object({
    room_name: z.string().min(1).max(200),
    participant_identity: z.string().min(1).max(200),
    url: z.string().url().max(2000),
    timeout_seconds: z.number().min(1).max(10),
    menu: z.string().max(50),
    key: z.string().max(1),
    digits: z.string().regex(/^[0-9*#A-D]{0,32}$/),
  })
  .strict();
export type IvrWebhookRequest = z.infer<typeof ivrWebhookRequestSchema>;

/** What the customer's server answered: the line to say (null: it said none). */
export const ivrWebhookAnswerSchema = z.object({ say: z.string().max(1000).nullable() });
export type IvrWebhookAnswer = z.infer<typeof ivrWebhookAnswerSchema>;
