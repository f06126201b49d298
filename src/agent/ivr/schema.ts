import { z } from 'zod';
import { sipTransferUriProblem } from '../../contract/index.js';

/**
 * An E.164 number, a tel: URI, a SIP URI that can carry no headers or other hosts, or
 * sip:<username> (a SIP user registered at the edge: its phones ring, docs/sip-users.md).
 */
function transferTargetIssue(target: string, ctx: z.RefinementCtx): void {
  if (/^(\+[1-9]\d{1,14}|tel:\+?[0-9*#]+)$/.test(target)) return;
  if (/^sip:[A-Za-z0-9._~!$&'()*+,=-]{1,64}$/.test(target)) return;
  const message = /^sips?:/i.test(target)
    ? sipTransferUriProblem(target)
    : 'is not an E.164 number (+15551234567), a tel: URI or a sip:user@host URI';
  if (message) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(target)} ${message}` });
}

/** Cold transfer (SIP REFER) to an E.164 number, tel: or sip: URI. */
export const transferTargetSchema = z.string().superRefine(transferTargetIssue);

export const dtmfKey = z.string().regex(/^[0-9*#A-D]$/, 'DTMF keys are 0-9, *, # and A-D');

const line = (max: number) => z.string().trim().min(1).max(max);

/** A menu's name in `ivr.menus`; `main` is the top menu. */
export const menuNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,49}$/, 'menu names are a-z, 0-9, _ and -, starting with a letter');

/** Several keys in a row: an account number ended by `#`, or a fixed number of digits. */
export const collectSchema = z
  .object({
    prompt: line(2000),
    /** Done once this many keys were pressed (no end key needed). */
    digits: z.number().int().min(1).max(32).optional(),
    /** The most keys taken when no fixed length is set. */
    max_digits: z.number().int().min(1).max(32).default(16),
    /** Ends the input (not one of the digits). */
    end_key: z.enum(['#', '*']).default('#'),
    /** Wait for the first key and between keys; then what was pressed is taken (or re-asked). */
    timeout_seconds: z.number().min(1).max(60).default(5),
  })
  .strict();

/** POST the key and digits to your server, say its answer (`{ "say": "..." }`). */
export const webhookActionSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'use an http:// or https:// URL'),
    timeout_seconds: z.number().min(1).max(10).default(4),
    /** Said when the server fails or does not answer in time. */
    error: line(500).default('Sorry, that did not work. Please try again later.'),
  })
  .strict();

const TERMINALS = ['go_to', 'transfer', 'hangup', 'agent'] as const;

/**
 * What a key does, in this order: collect digits, say a line (`{digits}` is what was collected),
 * call a webhook and say its answer, then at most one of: go to a menu, transfer, hang up,
 * hand the call to the agent (with the digits as context), or say the menu's prompt again.
 */
export const menuActionSchema = z
  .object({
    collect: collectSchema.optional(),
    say: line(2000).optional(),
    webhook: webhookActionSchema.optional(),
    /** Keys sent to the far end (RFC 2833), e.g. an extension on an outbound call. */
    send_dtmf: z
      .string()
      .regex(/^[0-9*#A-D]{1,32}$/, 'send_dtmf is 1 to 32 of 0-9, *, # and A-D')
      .optional(),
    go_to: menuNameSchema.optional(),
    transfer: transferTargetSchema.optional(),
    /** warm: the agent asks a human first; `transfer` must then be a phone number. */
    transfer_mode: z.enum(['cold', 'warm']).optional(),
    hangup: z.boolean().optional(),
    /** Leave the menu: the agent (LLM, script or platform) goes on, told the key and digits. */
    agent: z.boolean().optional(),
    /** Say the menu's prompt again. */
    repeat: z.boolean().optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const ends = TERMINALS.filter((t) => a[t] !== undefined && a[t] !== false);
    if (ends.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [ends[1]!],
        message: `a menu action ends one way: ${ends.join(' and ')} cannot both be set`,
      });
    }
    if (a.transfer_mode === 'warm' && !/^(tel:)?\+/.test(a.transfer ?? '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['transfer'],
        message: 'a warm transfer needs transfer set to a phone number (+E.164 or tel:+E.164)',
      });
    }
    if (!a.say && !a.collect && !a.webhook && !a.send_dtmf && !a.repeat && ends.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message:
          'a menu action needs at least one of say, collect, webhook, send_dtmf, go_to, transfer, hangup, agent or repeat',
      });
    }
  });

export const menuSchema = z
  .object({
    prompt: line(2000),
    options: z.record(dtmfKey, menuActionSchema),
    /** Said when a key has no action. */
    invalid: line(500).default('Sorry, that key is not an option.'),
    /** No key this long after the prompt: `no_input` and the prompt again. Unset: no limit. */
    timeout_seconds: z.number().min(1).max(120).optional(),
    no_input: line(500).default('Sorry, I did not hear your choice.'),
    /** Invalid keys and timeouts re-asked this often; then `on_fail`. */
    retries: z.number().int().min(0).max(10).default(2),
    /** After the retries: this action (unset: the menu stops asking and waits). */
    on_fail: menuActionSchema.optional(),
  })
  .strict();

/** The top menu (`main`), with the other menus by name for `go_to`. */
export const ivrSchema = menuSchema
  .extend({ menus: z.record(menuNameSchema, menuSchema).default({}) })
  .strict()
  .superRefine((ivr, ctx) => {
    const known = new Set(['main', ...Object.keys(ivr.menus)]);
    const check = (menu: z.infer<typeof menuSchema>, at: (string | number)[]) => {
      const actions: [z.infer<typeof menuActionSchema>, (string | number)[]][] = [
        ...Object.entries(menu.options).map(
          ([key, a]) => [a, [...at, 'options', key]] as [typeof a, (string | number)[]],
        ),
        ...(menu.on_fail
          ? [[menu.on_fail, [...at, 'on_fail']] as [typeof menu.on_fail, (string | number)[]]]
          : []),
      ];
      for (const [action, path] of actions) {
        if (action.go_to && !known.has(action.go_to)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'go_to'],
            message: `no menu named ${JSON.stringify(action.go_to)} in ivr.menus`,
          });
        }
      }
    };
    check(ivr, []);
    for (const [name, menu] of Object.entries(ivr.menus)) check(menu, ['menus', name]);
    if ('main' in ivr.menus) {
      ctx.addIssue({ code: 'custom', path: ['menus', 'main'], message: 'main is the top menu' });
    }
  });

export type Ivr = z.infer<typeof ivrSchema>;
export type Menu = z.infer<typeof menuSchema>;
export type MenuAction = z.infer<typeof menuActionSchema>;
