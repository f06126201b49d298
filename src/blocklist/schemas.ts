import { z } from 'zod';
import { numberPattern, prefixPattern, type Pattern } from './patterns.js';

/** Longest block a request may set (10 years); no expiry at all is the way to block for good. */
const maxExpirySeconds = 10 * 365 * 86400;

const pattern = (parse: typeof numberPattern) =>
  z
    .string()
    .max(40)
    .transform((value, ctx): Pattern => {
      const parsed = parse(value);
      if (parsed.ok) return parsed.pattern;
      ctx.addIssue({ code: 'custom', message: parsed.error });
      return z.NEVER;
    });

/** A caller number (E.164) or a prefix (digits), as the blocklist and priority callers take it. */
export const callerPatternFields = {
  number: pattern(numberPattern).optional(),
  prefix: pattern(prefixPattern).optional(),
};

/** The check that goes with callerPatternFields: exactly one of the two. */
export function exactlyOnePattern(
  v: { number?: Pattern; prefix?: Pattern },
  ctx: z.RefinementCtx,
): void {
  if ((v.number === undefined) === (v.prefix === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [v.number === undefined ? 'number' : 'prefix'],
      message: 'give exactly one of number or prefix (an E.164 number, or digits)',
    });
  }
}

/** POST /api/numbers/block: exactly one of number and prefix; at most one way to expire. */
export const blockCreateSchema = z
  .object({
    ...callerPatternFields,
    reason: z.string().trim().min(1).max(500).optional(),
    sip_status: z
      .number()
      .int()
      .min(400, 'a refusal is a SIP status from 400 to 699')
      .max(699, 'a refusal is a SIP status from 400 to 699')
      .optional(),
    expires_at: z.iso.datetime({ offset: true }).optional(),
    expires_in_seconds: z.number().int().positive().max(maxExpirySeconds).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    exactlyOnePattern(v, ctx);
    if (v.expires_at !== undefined && v.expires_in_seconds !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expires_in_seconds'],
        message: 'give expires_at or expires_in_seconds, not both',
      });
    }
    if (v.expires_at !== undefined && new Date(v.expires_at).getTime() <= Date.now()) {
      ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be in the future' });
    }
  });

export type BlockCreateInput = z.infer<typeof blockCreateSchema>;

/** DELETE /api/numbers/block/:number?kind=: which entry when a number and a prefix share digits. */
export const blockDeleteQuerySchema = z.object({
  kind: z.enum(['number', 'prefix']).optional(),
});
