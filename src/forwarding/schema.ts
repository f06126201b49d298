import { z } from 'zod';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time of day as HH:MM (00:00 to 24:00)');

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const openingSchema = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
    from: clock,
    to: clock,
  })
  .strict()
  .refine((o) => o.from < o.to, { message: 'from must be before to', path: ['to'] });

export const scheduleSchema = z
  .object({
    time_zone: z
      .string()
      .min(1)
      .max(64)
      .refine(knownZone, 'not an IANA time zone (e.g. Europe/Moscow)'),
    open: z.array(openingSchema).max(50),
  })
  .strict();
export type Schedule = z.infer<typeof scheduleSchema>;

/**
 * A number's forwarding (docs/call-control.md, "Forwarding"): `to` is checked as a transfer
 * target and against the destination policy by the number routes, not here.
 */
export const forwardingSchema = z
  .object({
    mode: z.enum(['always', 'no_capacity', 'outside_hours']),
    to: z.string().min(1).max(300),
    schedule: scheduleSchema.optional(),
    /** no_capacity: how long a call waits for an agent to join before it is forwarded. */
    agent_wait_seconds: z.number().int().min(1).max(120).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.mode === 'outside_hours' && !f.schedule)
      ctx.addIssue({
        code: 'custom',
        path: ['schedule'],
        message: 'outside_hours needs a schedule',
      });
  });
export type Forwarding = z.infer<typeof forwardingSchema>;

export const DEFAULT_AGENT_WAIT_SECONDS = 10;
