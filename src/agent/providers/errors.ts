import type { z } from 'zod';

export type ProviderPart = 'stt' | 'llm' | 'tts';

/** A profile's `stt`/`llm`/`tts` part is not valid; `fields` names every bad field. */
export class ProviderSettingsError extends Error {
  readonly retryable = false;
  readonly fields: { field: string; message: string }[];

  constructor(part: ProviderPart, error: z.ZodError) {
    const fields = error.issues.map((issue) => ({
      field: [part, ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    super(`invalid ${part} settings: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`);
    this.name = 'ProviderSettingsError';
    this.fields = fields;
  }
}

/** The environment variable a profile names for its API key is unset or empty. */
export class MissingApiKeyError extends Error {
  readonly retryable = false;

  constructor(
    readonly part: ProviderPart,
    readonly provider: string,
    readonly envVar: string,
  ) {
    super(
      `${part} provider ${provider} needs an API key in the environment variable ${envVar}, ` +
        `which is not set in the agent worker's environment`,
    );
    this.name = 'MissingApiKeyError';
  }
}

/** The profile names a key or a host the key policy refuses (./key-policy.ts): nothing is sent. */
export class ProviderKeyRefusedError extends Error {
  readonly retryable = false;

  constructor(
    readonly part: ProviderPart,
    readonly fields: { field: string; message: string }[],
  ) {
    super(
      `${part} provider refused before any request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
    );
    this.name = 'ProviderKeyRefusedError';
  }
}
