import { createHmac } from 'node:crypto';
import { profileSettingsSchema, type ProfileSettings } from '../agent/profile.js';
import {
  providerKeyPolicyFrom,
  providerKeyProblems,
  llmSettingsSchema,
} from '../agent/providers/index.js';
import type { SmsMessage } from './store.js';

/** What a reply is computed from: the text, the profile, the conversation before it. */
export interface ReplyInput {
  message: SmsMessage;
  settings: ProfileSettings;
  history: SmsMessage[];
  env: Record<string, string | undefined>;
}

export class ReplyError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ReplyError';
  }
}

const REPLY_TIMEOUT_MS = 20_000;
const MAX_REPLY_CHARS = 1600;

/** The profile's settings, or undefined when they no longer parse (the reply is then off). */
export function parseProfileSettings(raw: unknown): ProfileSettings | undefined {
  const parsed = profileSettingsSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : undefined;
}

/** Offline: the first rule with a keyword in the text (any case), else the fallback. */
export function scriptedReply(settings: ProfileSettings, text: string): string | undefined {
  const lower = text.toLocaleLowerCase();
  for (const rule of settings.sms.scripted) {
    if (rule.keywords.some((k) => lower.includes(k.toLocaleLowerCase()))) return rule.reply;
  }
  return settings.sms.fallback || undefined;
}

/** The reply text, or undefined for none. Throws ReplyError when the agent could not answer. */
export async function computeReply(input: ReplyInput): Promise<string | undefined> {
  const { settings } = input;
  if (!settings.sms.replies) return undefined;
  let reply: string | undefined;
  if (settings.mode === 'offline') reply = scriptedReply(settings, input.message.body);
  else if (settings.mode === 'pipeline') reply = await llmReply(input);
  else reply = await bridgeReply(input);
  const trimmed = reply?.trim();
  return trimmed ? trimmed.slice(0, MAX_REPLY_CHARS) : undefined;
}

async function llmReply({ message, settings, history, env }: ReplyInput): Promise<string> {
  const parsed = llmSettingsSchema.safeParse(settings.llm);
  if (!parsed.success) throw new ReplyError('the profile has no usable llm settings', false);
  const llm = parsed.data;
  const refused = providerKeyProblems(llm, providerKeyPolicyFrom(env));
  if (refused.length > 0)
    throw new ReplyError(`llm.${refused[0]!.field}: ${refused[0]!.message}`, false);
  const key = llm.api_key_env === null ? 'no-key' : env[llm.api_key_env];
  if (!key) throw new ReplyError(`the LLM key ${llm.api_key_env} is not set`, false);
  const base = (llm.base_url ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const messages = [
    {
      role: 'system',
      content: `${settings.system_prompt}\nYou are answering text messages (SMS): reply in plain text, briefly.`,
    },
    ...history.map((m) => ({
      role: m.direction === 'inbound' ? 'user' : 'assistant',
      content: m.body,
    })),
    { role: 'user', content: message.body },
  ];
  let response: Response;
  try {
    response = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: llm.model,
        messages,
        stream: true,
        ...(llm.temperature === undefined ? {} : { temperature: llm.temperature }),
      }),
      redirect: 'error',
      signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ReplyError(`the LLM did not answer (${(error as Error).message})`, true);
  }
  if (!response.ok)
    throw new ReplyError(
      `the LLM answered ${response.status}`,
      response.status >= 500 || response.status === 429,
    );
  // Server-sent events: the content deltas, in order.
  const text = await response.text();
  let reply = '';
  for (const line of text.split('\n')) {
    const data = /^data:\s*(.*)$/.exec(line.trim())?.[1];
    if (!data || data === '[DONE]') continue;
    try {
      const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
      reply += chunk.choices?.[0]?.delta?.content ?? '';
    } catch {
      // a keep-alive or comment line
    }
  }
  return reply;
}

/**
 * Bridge: POST {type: "sms", ...} to the profile's sms.webhook_url, signed like the bridge's
 * WebSocket (HMAC-SHA256 of the body with the bridge's secret); the answer {reply} is sent back.
 */
async function bridgeReply({
  message,
  settings,
  history,
  env,
}: ReplyInput): Promise<string | undefined> {
  const url = settings.sms.webhook_url;
  if (!url) return undefined;
  const body = JSON.stringify({
    type: 'sms',
    id: message.id,
    from_number: message.fromNumber,
    to_number: message.toNumber,
    message: message.body,
    received_at: message.createdAt.toISOString(),
    history: history.map((m) => ({
      direction: m.direction,
      message: m.body,
      at: m.createdAt.toISOString(),
    })),
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const secret = settings.bridge ? env[settings.bridge.hmac_secret_env] : undefined;
  if (secret)
    headers['x-voice-gateway-signature'] =
      `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ReplyError(`the platform did not answer (${(error as Error).message})`, true);
  }
  if (response.status === 204) return undefined;
  if (!response.ok)
    throw new ReplyError(`the platform answered ${response.status}`, response.status >= 500);
  const text = (await response.text()).slice(0, 64 * 1024);
  try {
    const parsed = JSON.parse(text) as { reply?: unknown };
    return typeof parsed.reply === 'string' ? parsed.reply : undefined;
  } catch {
    throw new ReplyError('the platform answered with no JSON', false);
  }
}
