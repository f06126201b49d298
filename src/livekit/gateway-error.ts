import { GatewayError, type ErrorCode } from '../errors/index.js';
import type { LivekitError } from './errors.js';

/**
 * The one error code for each LiveKit condition, wherever the API meets it (provisioning, calls,
 * transfers): unreachable 503, `not_found` 409, `already_exists` 409, any other refusal 422.
 */
export type LivekitErrorCode = Extract<ErrorCode, `livekit_${string}`>;

export function livekitErrorCode(error: LivekitError): LivekitErrorCode {
  if (error.kind === 'unavailable') return 'livekit_unavailable';
  if (error.kind === 'not_found') return 'livekit_not_found';
  if (error.code === 'already_exists') return 'livekit_conflict';
  return 'livekit_rejected';
}

const describe: Record<LivekitErrorCode, (message: string) => string> = {
  livekit_unavailable: (m) => m,
  livekit_not_found: (m) => `LiveKit does not have the object: ${m}`,
  livekit_conflict: (m) => `LiveKit already holds a conflicting object: ${m}`,
  livekit_rejected: (m) => `LiveKit rejected the change: ${m}`,
};

/** The GatewayError for a failed LiveKit call; `message` replaces the default wording. */
export function livekitGatewayError(
  error: LivekitError,
  extra: Record<string, unknown> = {},
  message?: string,
): GatewayError {
  const code = livekitErrorCode(error);
  const text = message ?? describe[code](error.message);
  return new GatewayError(code, text, extra, { cause: error });
}
