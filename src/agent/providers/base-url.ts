/**
 * The plugins disagree on what a base URL is; these turn the profile's `base_url` into the form
 * each plugin's option expects.
 */

const withoutTrailing = (url: string, suffix: RegExp) => url.replace(suffix, '');

/** Origin plus optional path prefix, without a trailing `/` or `/v1` (the plugins add `/v1/...`). */
function rootOf(baseUrl: string): string {
  return withoutTrailing(withoutTrailing(baseUrl, /\/+$/), /\/v1$/);
}

const toWs = (url: string) => url.replace(/^http(s?):/, 'ws$1:');
const toHttp = (url: string) => url.replace(/^ws(s?):/, 'http$1:');

/** openai `baseURL`: the API root with its version, used as given (OpenAI SDK semantics). */
export const openaiBaseUrl = (baseUrl: string) => withoutTrailing(toHttp(baseUrl), /\/+$/);

/** deepgram STT `baseUrl`: `wss://host`; the plugin opens `${baseUrl}/v1/listen`. */
export const deepgramSttBaseUrl = (baseUrl: string) => toWs(rootOf(baseUrl));

/** deepgram TTS `baseUrl`: `https://host`; the streaming path turns it into `ws(s)://`. */
export const deepgramTtsBaseUrl = (baseUrl: string) => toHttp(rootOf(baseUrl));

/** elevenlabs `baseURL`: `https://host/v1`; the plugin appends `/text-to-speech/...`. */
export const elevenlabsBaseUrl = (baseUrl: string) => `${toHttp(rootOf(baseUrl))}/v1`;
