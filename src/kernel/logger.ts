import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Log messages are static strings. Personal data (phone numbers, SIP URIs, transcripts) goes
 * only under the `pii` key, which is redacted unless the operator turns redaction off.
 * Secrets are never passed to the logger; the censor paths are a second line of defence.
 */
export function createLogger(options: {
  level: string;
  redactPii: boolean;
  name?: string;
}): Logger {
  const paths = ['*.password', '*.secret', '*.authorization', 'req.headers.authorization'];
  if (options.redactPii) paths.push('pii');
  return pino({
    name: options.name ?? 'voice-gateway',
    level: options.level,
    redact: { paths, censor: '[redacted]' },
  });
}
