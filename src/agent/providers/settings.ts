import { z } from 'zod';

/**
 * The `stt`, `llm` and `tts` parts of an agent profile's settings. API keys are never stored in
 * a profile: `api_key_env` names the environment variable of the worker that holds the key.
 * `api_key_env: null` says the endpoint takes no key (a self-hosted vLLM or Ollama); it is only
 * accepted together with `base_url`.
 *
 * `base_url` forms: for `openai` the API root with its version, as OpenAI-compatible servers
 * document it (`https://api.groq.com/openai/v1`, `http://127.0.0.1:11434/v1`); for `deepgram`
 * and `elevenlabs` the origin (`https://api.deepgram.com`, `https://api.elevenlabs.io`; a
 * trailing `/v1` is accepted too). http(s) and ws(s) schemes are both accepted.
 */

export const DEFAULT_API_KEY_ENV = {
  openai: 'OPENAI_API_KEY',
  deepgram: 'DEEPGRAM_API_KEY',
  elevenlabs: 'ELEVEN_API_KEY',
} as const;

export type ProviderName = keyof typeof DEFAULT_API_KEY_ENV;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const apiKeyEnv = (provider: ProviderName) =>
  z
    .string()
    .regex(ENV_NAME, 'must be the name of an environment variable, such as OPENAI_API_KEY')
    .nullable()
    .default(DEFAULT_API_KEY_ENV[provider]);

const baseUrl = z
  .url({ protocol: /^(https?|wss?)$/, error: 'must be an http(s):// or ws(s):// URL' })
  .optional();

const model = z.string().trim().min(1).max(200);
const language = z
  .string()
  .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'must be a language code such as en or en-US');

const common = (provider: ProviderName) => ({
  base_url: baseUrl,
  api_key_env: apiKeyEnv(provider),
});

/** A keyless endpoint must be one the operator runs, so `base_url` has to say where. */
function keylessNeedsBaseUrl(
  settings: { api_key_env: string | null; base_url?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (settings.api_key_env === null && settings.base_url === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['api_key_env'],
      message: 'may be null only with a base_url (a self-hosted endpoint that takes no key)',
    });
  }
}

const providerError = (names: string[]) => (issue: { code?: string }) =>
  issue.code === 'invalid_union'
    ? `provider must be one of ${names.map((n) => JSON.stringify(n)).join(', ')}`
    : undefined;

// --- STT -------------------------------------------------------------------------------------

const deepgramStt = z
  .strictObject({
    provider: z.literal('deepgram'),
    model: model.default('nova-3'),
    language: language.default('en-US'),
    /** Silence (ms) after which Deepgram ends an utterance; 0 turns endpointing off. */
    endpointing_ms: z.int().min(0).max(10_000).optional(),
    interim_results: z.boolean().optional(),
    smart_format: z.boolean().optional(),
    punctuate: z.boolean().optional(),
    filler_words: z.boolean().optional(),
    /** Words to boost (nova-3 keyterm prompting). */
    keyterms: z.array(z.string().trim().min(1).max(100)).max(100).optional(),
    /** Rate the audio is resampled to before it is sent; by default the call's own (8000 on a phone). */
    sample_rate: z
      .union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)])
      .optional(),
    ...common('deepgram'),
  })
  .superRefine(keylessNeedsBaseUrl);

/** Non-streaming `/v1/audio/transcriptions` (whisper-style), which every compatible server has. */
const openaiStt = z
  .strictObject({
    provider: z.literal('openai'),
    model: model.default('whisper-1'),
    language: language.default('en'),
    prompt: z.string().max(2000).optional(),
    ...common('openai'),
  })
  .superRefine(keylessNeedsBaseUrl);

export const sttSettingsSchema = z.discriminatedUnion('provider', [deepgramStt, openaiStt], {
  error: providerError(['deepgram', 'openai']),
});

// --- LLM -------------------------------------------------------------------------------------

const openaiLlm = z
  .strictObject({
    provider: z.literal('openai'),
    model: model.default('gpt-4.1-mini'),
    // The plugin sends no temperature when it is 0 (it tests the value for truthiness), so 0
    // would silently become the server's default; refuse it rather than surprise.
    temperature: z
      .number()
      .gt(0, 'must be greater than 0 (the OpenAI plugin drops 0); use e.g. 0.01')
      .max(2)
      .optional(),
    top_p: z.number().gt(0).max(1).optional(),
    max_completion_tokens: z.int().min(1).max(100_000).optional(),
    ...common('openai'),
  })
  .superRefine(keylessNeedsBaseUrl);

export const llmSettingsSchema = z.discriminatedUnion('provider', [openaiLlm], {
  error: providerError(['openai']),
});

// --- TTS -------------------------------------------------------------------------------------

/** `/v1/audio/speech`, 24 kHz PCM; not streaming, so the session synthesizes sentence by sentence. */
const openaiTts = z
  .strictObject({
    provider: z.literal('openai'),
    model: model.default('tts-1'),
    voice: z.string().trim().min(1).max(100).default('alloy'),
    speed: z.number().min(0.25).max(4).optional(),
    instructions: z.string().max(4000).optional(),
    ...common('openai'),
  })
  .superRefine(keylessNeedsBaseUrl);

/** Streaming WebSocket `/v1/speak`, linear16 PCM at `sample_rate` (plugin default 24000). */
const deepgramTts = z
  .strictObject({
    provider: z.literal('deepgram'),
    model: model.default('aura-2-andromeda-en'),
    sample_rate: z
      .union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)])
      .optional(),
    speed: z.number().min(0.7).max(1.5).optional(),
    ...common('deepgram'),
  })
  .superRefine(keylessNeedsBaseUrl);

const elevenlabsVoiceSettings = z.strictObject({
  stability: z.number().min(0).max(1),
  similarity_boost: z.number().min(0).max(1),
  style: z.number().min(0).max(1).optional(),
  speed: z.number().min(0.7).max(1.2).optional(),
  use_speaker_boost: z.boolean().optional(),
});

/** Streaming WebSocket `multi-stream-input`; only raw PCM formats, since the plugin does not decode. */
const elevenlabsTts = z
  .strictObject({
    provider: z.literal('elevenlabs'),
    voice_id: z.string().trim().min(1).max(100).optional(),
    model: model.optional(),
    language: language.optional(),
    encoding: z.enum(['pcm_16000', 'pcm_22050', 'pcm_24000', 'pcm_44100']).optional(),
    voice_settings: elevenlabsVoiceSettings.optional(),
    ...common('elevenlabs'),
  })
  .superRefine(keylessNeedsBaseUrl);

export const ttsSettingsSchema = z.discriminatedUnion(
  'provider',
  [openaiTts, deepgramTts, elevenlabsTts],
  { error: providerError(['openai', 'deepgram', 'elevenlabs']) },
);

export type SttSettings = z.output<typeof sttSettingsSchema>;
export type SttSettingsInput = z.input<typeof sttSettingsSchema>;
export type LlmSettings = z.output<typeof llmSettingsSchema>;
export type LlmSettingsInput = z.input<typeof llmSettingsSchema>;
export type TtsSettings = z.output<typeof ttsSettingsSchema>;
export type TtsSettingsInput = z.input<typeof ttsSettingsSchema>;

/** The three parts together, for whoever validates a whole profile. */
export const providerSettingsSchema = z.object({
  stt: sttSettingsSchema,
  llm: llmSettingsSchema,
  tts: ttsSettingsSchema,
});
export type ProviderSettings = z.output<typeof providerSettingsSchema>;
export type ProviderSettingsInput = z.input<typeof providerSettingsSchema>;
