import { ConfigError, type GatewayConfig } from './index.js';

/** Secrets that ship in LiveKit's examples and ours: anyone can sign LiveKit tokens with them. */
const KNOWN_DEFAULTS = new Set([
  'secret',
  'devkey',
  'devsecret',
  'changeme',
  'change-me',
  'password',
]);
export const MIN_LIVEKIT_SECRET_LENGTH = 32;

const LOOPBACK_HOST = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

/**
 * Refuses to run with a LiveKit API secret anyone could guess: it signs every room token and
 * webhook, so with it a stranger joins any call. Tolerated only for the local stack (npm start
 * sets GATEWAY_LOCAL_STACK) with LiveKit on loopback, e.g. `livekit-server --dev`.
 */
export function assertStrongLivekitSecret(config: GatewayConfig): void {
  const secret = config.livekit.apiSecret;
  const weak =
    KNOWN_DEFAULTS.has(secret.toLowerCase()) || secret.length < MIN_LIVEKIT_SECRET_LENGTH;
  if (!weak) return;
  const loopback = LOOPBACK_HOST.test(new URL(config.livekit.url).hostname);
  if (config.localStack && loopback) return;
  const why =
    secret === 'secret'
      ? 'is unset or empty, so it would be the well-known default "secret"'
      : KNOWN_DEFAULTS.has(secret.toLowerCase())
        ? 'is a well-known default'
        : `is shorter than ${MIN_LIVEKIT_SECRET_LENGTH} characters`;
  throw new ConfigError([
    `LIVEKIT_API_SECRET: ${why}; anyone who knows it can join every call. Set the same random secret in LiveKit and here (openssl rand -base64 32)${
      loopback ? ', or GATEWAY_LOCAL_STACK=true for a local loopback stack' : ''
    }`,
  ]);
}
