export { createLlm, createStt, createTts, type Env } from './factory.js';
export {
  MissingApiKeyError,
  ProviderKeyRefusedError,
  ProviderSettingsError,
  type ProviderPart,
} from './errors.js';
export * from './key-policy.js';
export * from './settings.js';
