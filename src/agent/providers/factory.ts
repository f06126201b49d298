import { initializeLogger, loggerOptions, type llm, type stt, type tts } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as elevenlabs from '@livekit/agents-plugin-elevenlabs';
import type { TTSEncoding as ElevenlabsEncoding } from '@livekit/agents-plugin-elevenlabs';
import * as openai from '@livekit/agents-plugin-openai';
import type { z } from 'zod';
import {
  deepgramSttBaseUrl,
  deepgramTtsBaseUrl,
  elevenlabsBaseUrl,
  openaiBaseUrl,
} from './base-url.js';
import {
  MissingApiKeyError,
  ProviderKeyRefusedError,
  ProviderSettingsError,
  type ProviderPart,
} from './errors.js';
import { providerKeyPolicyFrom, providerKeyProblems } from './key-policy.js';
import {
  llmSettingsSchema,
  sttSettingsSchema,
  ttsSettingsSchema,
  type LlmSettingsInput,
  type SttSettingsInput,
  type TtsSettingsInput,
} from './settings.js';

export type Env = Record<string, string | undefined>;

/** Sent to keyless self-hosted endpoints: the plugins refuse to start without some key. */
const KEYLESS_PLACEHOLDER = 'no-key';

function parse<S extends z.ZodType>(part: ProviderPart, schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ProviderSettingsError(part, parsed.error);
  return parsed.data;
}

/** The key, once the policy allows it to go where the settings say (defence in depth). */
function apiKeyFor(
  part: ProviderPart,
  settings: { provider: string; api_key_env: string | null; base_url?: string | undefined },
  env: Env,
): string {
  const refused = providerKeyProblems(settings, providerKeyPolicyFrom(env));
  if (refused.length > 0) {
    throw new ProviderKeyRefusedError(
      part,
      refused.map((p) => ({ field: `${part}.${p.field}`, message: p.message })),
    );
  }
  if (settings.api_key_env === null) return KEYLESS_PLACEHOLDER;
  const key = env[settings.api_key_env];
  if (!key) throw new MissingApiKeyError(part, settings.provider, settings.api_key_env);
  return key;
}

/** The plugins spread options over their defaults, so an explicit `undefined` would erase one. */
function defined<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** Some plugins log through the agents logger in their constructors and throw without it. */
function ensureAgentsLogger() {
  if (!loggerOptions()) initializeLogger({ pretty: false, level: 'warn' });
}

/**
 * Speech-to-text for a profile's `stt` settings (raw JSON is validated here). `audioRate` is the
 * rate the call's audio arrives at: a streaming recognizer takes it as it is unless the profile
 * names a rate, so no frame is resampled on the way.
 */
export function createStt(
  input: SttSettingsInput,
  env: Env = process.env,
  audioRate?: number,
): stt.STT {
  const settings = parse('stt', sttSettingsSchema, input);
  const apiKey = apiKeyFor('stt', settings, env);
  ensureAgentsLogger();
  switch (settings.provider) {
    case 'deepgram':
      return new deepgram.STT(
        defined({
          apiKey,
          model: settings.model,
          language: settings.language,
          endpointing: settings.endpointing_ms,
          interimResults: settings.interim_results,
          smartFormat: settings.smart_format,
          punctuate: settings.punctuate,
          fillerWords: settings.filler_words,
          keyterm: settings.keyterms,
          sampleRate: settings.sample_rate ?? audioRate,
          baseUrl: settings.base_url && deepgramSttBaseUrl(settings.base_url),
        }),
      );
    case 'openai':
      return new openai.STT(
        defined({
          apiKey,
          model: settings.model,
          language: settings.language,
          prompt: settings.prompt,
          useRealtime: false,
          baseURL: settings.base_url && openaiBaseUrl(settings.base_url),
        }),
      );
  }
}

/** Chat model for a profile's `llm` settings: OpenAI or any OpenAI-compatible endpoint. */
export function createLlm(input: LlmSettingsInput, env: Env = process.env): llm.LLM {
  const settings = parse('llm', llmSettingsSchema, input);
  const apiKey = apiKeyFor('llm', settings, env);
  ensureAgentsLogger();
  return new openai.LLM(
    defined({
      apiKey,
      model: settings.model,
      temperature: settings.temperature,
      topP: settings.top_p,
      maxCompletionTokens: settings.max_completion_tokens,
      baseURL: settings.base_url && openaiBaseUrl(settings.base_url),
    }),
  );
}

/** Text-to-speech for a profile's `tts` settings. */
export function createTts(input: TtsSettingsInput, env: Env = process.env): tts.TTS {
  const settings = parse('tts', ttsSettingsSchema, input);
  const apiKey = apiKeyFor('tts', settings, env);
  ensureAgentsLogger();
  switch (settings.provider) {
    case 'openai':
      return new openai.TTS(
        defined({
          apiKey,
          model: settings.model,
          voice: settings.voice as openai.TTSVoices,
          speed: settings.speed,
          instructions: settings.instructions,
          baseURL: settings.base_url && openaiBaseUrl(settings.base_url),
        }),
      );
    case 'deepgram':
      return new deepgram.TTS(
        defined({
          apiKey,
          model: settings.model,
          sampleRate: settings.sample_rate,
          speed: settings.speed,
          baseUrl: settings.base_url && deepgramTtsBaseUrl(settings.base_url),
        }),
      );
    case 'elevenlabs':
      return new elevenlabs.TTS(
        defined({
          apiKey,
          voiceId: settings.voice_id,
          model: settings.model,
          language: settings.language,
          // pcm_24000 is a real ElevenLabs format the plugin's type list lacks; it parses the rate.
          encoding: settings.encoding as ElevenlabsEncoding | undefined,
          voiceSettings: settings.voice_settings,
          baseURL: settings.base_url && elevenlabsBaseUrl(settings.base_url),
        }),
      );
  }
}
