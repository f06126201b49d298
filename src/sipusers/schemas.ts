import { z } from 'zod';
import { sipRealmProblem, sipSecretProblem, sipUserProblem } from '../contract/index.js';
import { isUuid, UUID_PATTERN } from '../kernel/uuid.js';

const sip = (schema: z.ZodString, problem: (value: string) => string | undefined) =>
  schema.superRefine((value, ctx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

const fields = {
  // Not a uuid: API paths name a user by its id or its username, and must tell them apart.
  username: sip(z.string().min(1).max(100), sipUserProblem).refine((v) => !isUuid(v), {
    message: 'must not look like a uuid (paths accept either)',
  }),
  password: sip(z.string().min(8, 'use at least 8 characters').max(256), sipSecretProblem),
  display_name: z.string().trim().min(1).max(200).nullable(),
  // A host-like realm: the edge keeps it beside the HA1s in one "|"-separated value.
  realm: sip(z.string().min(1).max(255), sipRealmProblem).regex(
    /^[A-Za-z0-9._:-]+$/,
    'use a host-like realm: letters, digits, dots, dashes, underscores and colons',
  ),
  is_active: z.boolean(),
  is_blocked: z.boolean(),
  max_concurrent_calls: z.number().int().min(1).max(1000),
  call_recording_enabled: z.boolean(),
  sms_enabled: z.boolean(),
  agent_profile_id: z.string().regex(UUID_PATTERN, 'must be an agent profile id (uuid)').nullable(),
};

/** POST /api/sip-users (and each row of bulk-create). Unknown fields are refused. */
export const sipUserCreateSchema = z
  .object({
    username: fields.username,
    password: fields.password,
    display_name: fields.display_name.optional(),
    realm: fields.realm.optional(),
    is_active: fields.is_active.optional(),
    is_blocked: fields.is_blocked.optional(),
    max_concurrent_calls: fields.max_concurrent_calls.optional(),
    call_recording_enabled: fields.call_recording_enabled.optional(),
    sms_enabled: fields.sms_enabled.optional(),
    agent_profile_id: fields.agent_profile_id.optional(),
  })
  .strict();
export type SipUserCreateInput = z.infer<typeof sipUserCreateSchema>;

/** PUT /api/sip-users/:id: every field optional; the username is fixed (it is in the HA1s). */
export const sipUserUpdateSchema = z
  .object({
    password: fields.password.optional(),
    display_name: fields.display_name.optional(),
    realm: fields.realm.optional(),
    is_active: fields.is_active.optional(),
    is_blocked: fields.is_blocked.optional(),
    max_concurrent_calls: fields.max_concurrent_calls.optional(),
    call_recording_enabled: fields.call_recording_enabled.optional(),
    sms_enabled: fields.sms_enabled.optional(),
    agent_profile_id: fields.agent_profile_id.optional(),
  })
  .strict();
export type SipUserUpdateInput = z.infer<typeof sipUserUpdateSchema>;

/** POST /api/sip-users/bulk-create: an array of create bodies (at most 5,000). */
export const bulkCreateLimit = 5000;

const bool = z
  .enum(['true', 'false', '1', '0'], { message: 'use true or false' })
  .transform((v) => v === 'true' || v === '1');

/** GET /api/sip-users?page=1&per_page=50&active_only=false&search=john */
export const sipUserListQuerySchema = z
  .object({
    page: z.coerce.number().int().min(1).default(1),
    per_page: z.coerce.number().int().min(1).max(500).default(50),
    active_only: bool.default(false),
    search: z.string().trim().min(1).max(100).optional(),
  })
  .strict();

/** GET /api/sip-users/:id/calls?active_only=false&limit=50 */
export const sipUserCallsQuerySchema = z
  .object({
    active_only: bool.default(false),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
