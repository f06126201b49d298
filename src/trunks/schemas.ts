import { z } from 'zod';
import { destinationPolicySchema } from '../destinations/index.js';
import { providerIds } from './provider-presets.js';
import { forwardingSchema } from '../forwarding/schema.js';
import { sipRealmProblem, sipSecretProblem, sipUserProblem } from '../contract/index.js';

/** A string that must also pass one of the SIP grammar checks (src/contract/sip-grammar.ts). */
const sip = (schema: z.ZodString, problem: (value: string) => string | undefined) =>
  schema.superRefine((value, ctx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

const lower = (values: readonly [string, ...string[]]) =>
  z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(values));

export const transportSchema = lower(['udp', 'tcp', 'tls']);
/**
 * What LiveKit SIP speaks on the phone side. The edge keeps only a trunk's codecs in a caller's
 * offer; LiveKit then answers with its own favourite of those (G722, then PCMU, then PCMA).
 */
export const codecSchema = z.enum(['PCMU', 'PCMA', 'G722'], {
  error: (issue) =>
    `${String(issue.input)} is not a codec LiveKit SIP speaks: use PCMU, PCMA or G722`,
});
export const slugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{1,63}$/, 'use 2-64 characters: lowercase letters, digits, _ and -');
export const providerSchema = z.enum(providerIds, {
  error: (issue) =>
    `unknown provider ${JSON.stringify(issue.input)}; one of ${providerIds.join(', ')}`,
});

const trunkFields = {
  name: z.string().trim().min(1).max(200),
  provider: providerSchema,
  status: z.enum(['active', 'inactive']),
  supports_inbound: z.boolean(),
  supports_outbound: z.boolean(),
  numbers: z.array(z.string()).max(1000),
  allowed_addresses: z.array(z.string()).max(200),
  /** Acknowledges an allowed_addresses range wider than a /16 (0.0.0.0/0: no source check). */
  allow_any_source: z.boolean(),
  inbound_username: sip(z.string().min(1).max(128), sipUserProblem),
  inbound_password: sip(z.string().min(8, 'use at least 8 characters').max(256), sipSecretProblem),
  proxy_address: z.string().min(1).max(255),
  proxy_port: z.number().int().min(1).max(65535),
  transport: transportSchema,
  username: sip(z.string().min(1).max(128), sipUserProblem),
  password: sip(z.string().min(1).max(256), sipSecretProblem),
  realm: sip(z.string().min(1).max(255), sipRealmProblem),
  from_host: z.string().min(1).max(255),
  preferred_codecs: z.array(codecSchema).max(3),
  media_encryption: z.enum(['disable', 'allow', 'require']),
  max_concurrent_calls: z.number().int().positive().max(100000),
  calls_per_second_limit: z.number().int().positive().max(10000),
  /** SMS (docs/sms.md): a long text as one MESSAGE per segment (true) or one long MESSAGE. */
  sms_split: z.boolean(),
  /** The longest text the provider takes, in segments. */
  sms_max_segments: z.number().int().min(1).max(255),
  register: z.boolean(),
  registrar: z.string().min(1).max(255),
  register_expiry: z.number().int().min(20, 'use at least 20 seconds').max(86400),
  /** The digest algorithm the registrar challenges with (RFC 8760). */
  register_algorithm: z.enum(['MD5', 'SHA-256', 'SHA-512-256'], {
    message: 'use MD5, SHA-256 or SHA-512-256',
  }),
};

/** POST /api/trunks. Unknown fields are refused so a typo is not silently ignored. */
export const trunkCreateSchema = z
  .object({
    trunk_id: slugSchema.optional(),
    name: trunkFields.name,
    provider: trunkFields.provider,
    status: trunkFields.status.optional(),
    supports_inbound: trunkFields.supports_inbound.optional(),
    supports_outbound: trunkFields.supports_outbound.optional(),
    numbers: trunkFields.numbers.optional(),
    allowed_addresses: trunkFields.allowed_addresses.optional(),
    allow_any_source: trunkFields.allow_any_source.optional(),
    inbound_username: trunkFields.inbound_username.optional(),
    inbound_password: trunkFields.inbound_password.optional(),
    proxy_address: trunkFields.proxy_address.optional(),
    proxy_port: trunkFields.proxy_port.optional(),
    transport: trunkFields.transport.optional(),
    username: trunkFields.username.optional(),
    password: trunkFields.password.optional(),
    realm: trunkFields.realm.optional(),
    from_host: trunkFields.from_host.optional(),
    preferred_codecs: trunkFields.preferred_codecs.optional(),
    media_encryption: trunkFields.media_encryption.optional(),
    max_concurrent_calls: trunkFields.max_concurrent_calls.optional(),
    calls_per_second_limit: trunkFields.calls_per_second_limit.optional(),
    sms_split: trunkFields.sms_split.optional(),
    sms_max_segments: trunkFields.sms_max_segments.optional(),
    register: trunkFields.register.optional(),
    registrar: trunkFields.registrar.optional(),
    register_expiry: trunkFields.register_expiry.optional(),
    register_algorithm: trunkFields.register_algorithm.optional(),
    /** Toll fraud: where its calls and transfers may go (docs/admin.md). */
    destination_policy: destinationPolicySchema.nullable().optional(),
  })
  .strict();

/** PUT /api/trunks/:id. Omitted fields keep their value; null clears an optional one. */
export const trunkUpdateSchema = z
  .object({
    name: trunkFields.name.optional(),
    provider: trunkFields.provider.optional(),
    status: trunkFields.status.optional(),
    supports_inbound: trunkFields.supports_inbound.optional(),
    supports_outbound: trunkFields.supports_outbound.optional(),
    numbers: trunkFields.numbers.optional(),
    allowed_addresses: trunkFields.allowed_addresses.optional(),
    allow_any_source: trunkFields.allow_any_source.optional(),
    inbound_username: trunkFields.inbound_username.nullable().optional(),
    inbound_password: trunkFields.inbound_password.nullable().optional(),
    proxy_address: trunkFields.proxy_address.nullable().optional(),
    proxy_port: trunkFields.proxy_port.nullable().optional(),
    transport: trunkFields.transport.optional(),
    username: trunkFields.username.nullable().optional(),
    password: trunkFields.password.nullable().optional(),
    realm: trunkFields.realm.nullable().optional(),
    from_host: trunkFields.from_host.nullable().optional(),
    preferred_codecs: trunkFields.preferred_codecs.optional(),
    media_encryption: trunkFields.media_encryption.optional(),
    max_concurrent_calls: trunkFields.max_concurrent_calls.nullable().optional(),
    calls_per_second_limit: trunkFields.calls_per_second_limit.nullable().optional(),
    sms_split: trunkFields.sms_split.optional(),
    sms_max_segments: trunkFields.sms_max_segments.optional(),
    register: trunkFields.register.optional(),
    registrar: trunkFields.registrar.nullable().optional(),
    register_expiry: trunkFields.register_expiry.optional(),
    register_algorithm: trunkFields.register_algorithm.optional(),
    destination_policy: destinationPolicySchema.nullable().optional(),
  })
  .strict();

export type TrunkCreateInput = z.infer<typeof trunkCreateSchema>;
export type TrunkUpdateInput = z.infer<typeof trunkUpdateSchema>;

const pageNumber = z.coerce.number().int().min(1);
export const trunkListQuerySchema = z.object({
  provider: providerSchema.optional(),
  status: z.enum(['active', 'inactive']).optional(),
  sync_state: z.enum(['pending', 'in_sync', 'drift', 'error']).optional(),
  page: pageNumber.default(1),
  per_page: pageNumber.max(100).default(20),
});

/** Calls to the number at once (more wait in the queue) and its calls' place in the queue. */
const numberCallControl = {
  max_concurrent_calls: z.number().int().positive().max(100000).nullable().optional(),
  queue_priority: z.number().int().min(-1000).max(1000).optional(),
  /** Forwarding without an agent (docs/call-control.md, "Forwarding"); null removes it. */
  forwarding: forwardingSchema.nullable().optional(),
};

export const numberCreateSchema = z
  .object({
    number: z.string().min(1).max(40),
    trunk_id: z.string().min(1),
    agent_profile_id: z.uuid().nullable().optional(),
    label: z.string().max(200).nullable().optional(),
    ...numberCallControl,
  })
  .strict();

export const numberUpdateSchema = z
  .object({
    trunk_id: z.string().min(1).optional(),
    agent_profile_id: z.uuid().nullable().optional(),
    label: z.string().max(200).nullable().optional(),
    ...numberCallControl,
  })
  .strict();

export const numberListQuerySchema = z.object({
  trunk_id: z.string().optional(),
  page: pageNumber.default(1),
  per_page: pageNumber.max(100).default(50),
});

const ruleFields = {
  name: z.string().trim().min(1).max(200),
  type: z.enum(['individual', 'direct', 'callee']),
  room_prefix: z.string().regex(/^[A-Za-z0-9_-]{0,40}$/, 'use up to 40 letters, digits, _ and -'),
  room_name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'use 1-128 letters, digits, _ . and -'),
  pin: z.string().regex(/^\d{1,16}$/, 'a PIN is 1-16 digits'),
  randomize: z.boolean(),
  agent_name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 letters, digits, _ . and -'),
  agent_profile_id: z.uuid(),
  trunk_ids: z
    .array(z.string().min(1))
    .min(
      1,
      'a dispatch rule must name at least one trunk: a rule with no trunks accepts INVITEs from any source',
    )
    .max(100),
  inbound_numbers: z.array(z.string()).max(1000),
  numbers: z.array(z.string()).max(1000),
  hide_phone_number: z.boolean(),
  enabled: z.boolean(),
};

export const ruleCreateSchema = z
  .object({
    name: ruleFields.name,
    type: ruleFields.type,
    room_prefix: ruleFields.room_prefix.optional(),
    room_name: ruleFields.room_name.optional(),
    pin: ruleFields.pin.optional(),
    randomize: ruleFields.randomize.optional(),
    agent_name: ruleFields.agent_name.nullable().optional(),
    agent_profile_id: ruleFields.agent_profile_id.optional(),
    forwarding: forwardingSchema.nullable().optional(),
    trunk_ids: ruleFields.trunk_ids,
    inbound_numbers: ruleFields.inbound_numbers.optional(),
    numbers: ruleFields.numbers.optional(),
    hide_phone_number: ruleFields.hide_phone_number.optional(),
    enabled: ruleFields.enabled.optional(),
  })
  .strict();

export const ruleUpdateSchema = z
  .object({
    name: ruleFields.name.optional(),
    type: ruleFields.type.optional(),
    room_prefix: ruleFields.room_prefix.optional(),
    room_name: ruleFields.room_name.nullable().optional(),
    pin: ruleFields.pin.nullable().optional(),
    randomize: ruleFields.randomize.optional(),
    agent_name: ruleFields.agent_name.nullable().optional(),
    agent_profile_id: ruleFields.agent_profile_id.nullable().optional(),
    forwarding: forwardingSchema.nullable().optional(),
    trunk_ids: ruleFields.trunk_ids.optional(),
    inbound_numbers: ruleFields.inbound_numbers.optional(),
    numbers: ruleFields.numbers.optional(),
    hide_phone_number: ruleFields.hide_phone_number.optional(),
    enabled: ruleFields.enabled.optional(),
  })
  .strict();

export type RuleCreateInput = z.infer<typeof ruleCreateSchema>;
export type RuleUpdateInput = z.infer<typeof ruleUpdateSchema>;
