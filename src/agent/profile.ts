import { z } from 'zod';
import {
  bridgeSecretEnvProblem,
  providerKeyProblems,
  type ProviderKeyPolicy,
} from './providers/key-policy.js';
import { llmSettingsSchema, sttSettingsSchema, ttsSettingsSchema } from './providers/settings.js';
import { recordingSettingsSchema } from '../contract/index.js';
import { ivrSchema, transferTargetSchema } from './ivr/schema.js';

export {
  dtmfKey,
  ivrSchema,
  menuActionSchema,
  transferTargetSchema,
  type Ivr,
  type Menu,
  type MenuAction,
} from './ivr/schema.js';

const seconds = (max: number) => z.number().positive().max(max);

export const endpointingSchema = z
  .object({
    /** Silence the VAD waits for before it reports the end of speech (LiveKit's default 0.55). */
    vad_silence_seconds: z.number().min(0.1).max(2).default(0.3),
    /** Silence after the caller's last word before the agent may answer (LiveKit's default 0.5). */
    min_delay_seconds: z.number().min(0).max(5).default(0.35),
    /** Longest wait when the turn detector thinks the caller is not done (default 3 in LiveKit). */
    max_delay_seconds: z.number().min(0.1).max(10).default(2.5),
  })
  .strict();

/** A worker variable the bridge signs with: never one of the gateway's secrets or a provider key. */
const bridgeSecretEnv = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/)
  .superRefine((name, ctx) => {
    const problem = bridgeSecretEnvProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const bridgeSettingsSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^wss?:\/\//.test(u), 'use a ws:// or wss:// URL'),
    /** Names of the environment variables that hold the bridge's secrets (never stored here). */
    jwt_secret_env: bridgeSecretEnv.default('BRIDGE_JWT_SECRET'),
    hmac_secret_env: bridgeSecretEnv.default('BRIDGE_HMAC_SECRET'),
  })
  .strict();

/** The recordings area owns it: a call's own setting (POST /api/calls) has the same shape. */
export { recordingSettingsSchema };

/** How a call over a concurrency limit waits (docs/call-control.md). */
export const queueSettingsSchema = z
  .object({
    /** Longest wait; then the caller hears timeout_message and is hung up on (or transferred). */
    max_wait_seconds: seconds(86400).default(300),
    /** Say the caller's place in the queue this often (0: never). */
    announce_position_seconds: z.number().min(0).max(3600).default(30),
    /** {position} is replaced by the caller's place. */
    position_message: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .default('All our agents are busy. You are number {position} in the queue.'),
    timeout_message: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .default('Sorry, all our agents are still busy. Please call again later. Goodbye.'),
    /** Instead of hanging up after the longest wait: transfer here. */
    timeout_transfer_to: transferTargetSchema.optional(),
  })
  .strict();

/**
 * Answering machine detection on the profile's outbound calls (docs/agents.md): after the
 * answer the agent listens first; a person goes on to the greeting, a machine gets `message`
 * after its beep (leave_message) or is hung up on (hang_up). Unknown goes on as a person.
 */
export const machineDetectionSchema = z
  .object({
    enabled: z.boolean().default(false),
    on_machine: z.enum(['leave_message', 'hang_up']).default('hang_up'),
    message: z.string().trim().min(1).max(1000).optional(),
  })
  .strict()
  .refine((m) => m.on_machine !== 'leave_message' || m.message !== undefined, {
    path: ['message'],
    message: 'on_machine leave_message needs the message to leave',
  });

/**
 * How the profile answers texts (docs/sms.md). offline: the first scripted rule with a keyword
 * in the text, else `fallback`; pipeline: its LLM, given the conversation so far; bridge: a POST
 * to `webhook_url` (docs/bridge.md). Replies go out as SMS from the number that was texted.
 */
export const smsSettingsSchema = z
  .object({
    /** false: texts are stored (and webhooked) but never answered. */
    replies: z.boolean().default(true),
    scripted: z
      .array(
        z
          .object({
            /** Matched case-insensitively anywhere in the text. */
            keywords: z.array(z.string().trim().min(1).max(100)).min(1).max(20),
            reply: z.string().trim().min(1).max(1600),
          })
          .strict(),
      )
      .max(50)
      .default([]),
    /** Offline mode: the answer when no rule matches; empty: no answer. */
    fallback: z.string().trim().max(1600).default(''),
    /** Bridge mode: the platform's HTTP endpoint for texts (http or https). */
    webhook_url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'use an http:// or https:// URL')
      .optional(),
  })
  .strict();

/**
 * What an agent profile says about the agent (stored as JSON in agent_profiles.settings).
 * offline: no API key needed: Silero VAD, espeak-ng speech and a scripted dialog.
 * pipeline: STT, LLM and TTS through the official LiveKit plugins.
 * bridge: the caller's audio goes to the customer's own AI platform over a WebSocket.
 */
export const profileSettingsSchema = z
  .object({
    mode: z.enum(['offline', 'pipeline', 'bridge']).default('offline'),
    greeting: z.string().trim().max(2000).default(''),
    system_prompt: z.string().max(20000).default('You are a helpful phone agent. Be brief.'),
    /** BCP 47 language tag, e.g. en-US, ru-RU. */
    language: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/)
      .default('en-US'),
    /** TTS voice name (espeak-ng voice for offline, the provider's voice otherwise). */
    voice: z.string().max(100).optional(),
    stt: sttSettingsSchema.optional(),
    llm: llmSettingsSchema.optional(),
    tts: ttsSettingsSchema.optional(),
    ivr: ivrSchema.optional(),
    /**
     * Where key presses come from: RFC 2833/4733 events (which LiveKit SIP turns into DTMF data),
     * tones in the caller's audio (inband: providers that send no events), or both, a key
     * heard both ways counted once. Inband detection runs on the offline path only.
     */
    dtmf_mode: z.enum(['rfc2833', 'inband', 'both']).default('both'),
    /** Offline mode: lines said in turn after each thing the caller says (the last repeats). */
    replies: z.array(z.string().trim().min(1).max(2000)).max(50).default([]),
    tools: z
      .object({
        transfer: z.boolean().default(false),
        hangup: z.boolean().default(true),
        /** send_dtmf: press keys (another company's menu on an outbound call). */
        dtmf: z.boolean().default(false),
        /** Targets the LLM may transfer to, by name. */
        transfer_targets: z.record(z.string().max(50), transferTargetSchema).default({}),
        /** warm: the LLM's transfers ask the human first (phone-number targets only). */
        transfer_mode: z.enum(['cold', 'warm']).default('cold'),
      })
      .strict()
      .default({
        transfer: false,
        hangup: true,
        dtmf: false,
        transfer_targets: {},
        transfer_mode: 'cold',
      }),
    max_call_duration_seconds: seconds(86400).default(3600),
    /** Caller silent this long: the agent asks once, then hangs up after as long again. */
    silence_timeout_seconds: seconds(3600).default(30),
    endpointing: endpointingSchema.prefault({}),
    allow_interruptions: z.boolean().default(true),
    bridge: bridgeSettingsSchema.optional(),
    /** Record the call (both sides); docs/agents.md "Hold and recordings". */
    recording: recordingSettingsSchema.optional(),
    /** Calls this profile answers at once; more wait in the queue. */
    max_concurrent_calls: z.number().int().positive().max(100000).optional(),
    queue: queueSettingsSchema.prefault({}),
    machine_detection: machineDetectionSchema.prefault({}),
    sms: smsSettingsSchema.prefault({}),
    /** Said before hanging up when the agent fails mid-call. */
    apology: z
      .string()
      .max(500)
      .default('Sorry, something went wrong on our side. Please call again later. Goodbye.'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.mode === 'bridge' && !s.bridge) {
      ctx.addIssue({ code: 'custom', path: ['bridge'], message: 'bridge mode needs bridge.url' });
    }
    if (s.mode === 'pipeline') {
      for (const part of ['stt', 'llm', 'tts'] as const) {
        if (!s[part]) {
          ctx.addIssue({ code: 'custom', path: [part], message: `pipeline mode needs ${part}` });
        }
      }
    }
  });

export type ProfileSettings = z.infer<typeof profileSettingsSchema>;

/**
 * Where the profile's provider keys would go, against the operator's policy: each refusal names
 * its field (stt.api_key_env, llm.base_url...). The API checks it on write, the worker on use.
 */
export function profileKeyProblems(
  settings: ProfileSettings,
  policy: ProviderKeyPolicy,
): { field: string; message: string }[] {
  return (['stt', 'llm', 'tts'] as const).flatMap((part) => {
    const partSettings = settings[part];
    if (!partSettings) return [];
    return providerKeyProblems(partSettings, policy).map((p) => ({
      field: `settings.${part}.${p.field}`,
      message: p.message,
    }));
  });
}
