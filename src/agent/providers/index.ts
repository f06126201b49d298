export { createLlm, createStt, createTts, type Env } from './factory.js';
export { MissingApiKeyError, ProviderSettingsError, type ProviderPart } from './errors.js';
export * from './settings.js';
