import { z } from 'zod';

const httpUrl = z
  .string()
  .url()
  .max(2000)
  .refine((u) => /^https?:\/\//.test(u), 'use an http:// or https:// URL');

/** POST /api/sms/send, the SIP server spec's fields. */
export const smsSendSchema = z
  .object({
    from_number: z.string().trim().min(1).max(32),
    to_number: z.string().trim().min(1).max(32),
    message: z
      .string()
      .max(20_000, 'is longer than 20000 characters')
      .refine((m) => m.trim().length > 0, 'is empty'),
    trunk_id: z.string().trim().min(1).max(100).optional(),
    /** sms.sent / sms.failed for this message, signed like per-call webhooks. */
    webhook_url: httpUrl.optional(),
  })
  .strict();
export type SmsSendInput = z.infer<typeof smsSendSchema>;

/** GET /api/sms/history filters. */
export const smsHistorySchema = z
  .object({
    /** Either side of the conversation, E.164. */
    number: z.string().trim().min(1).max(32).optional(),
    direction: z.enum(['inbound', 'outbound']).optional(),
    status: z.enum(['received', 'queued', 'sent', 'delivered', 'failed']).optional(),
    since: z.string().datetime({ offset: true }).optional(),
    until: z.string().datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
