import type { z } from 'zod';
import { errorCatalogue, type ErrorCode } from './catalogue.js';

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * What every area throws when a request cannot be carried out: a code from the catalogue, a
 * readable message, extra fields for the answer, and the error that caused it. The HTTP error
 * handler (src/http-kit/errors.ts) is the one place that turns it into a status and a body.
 */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
  }

  /** Whether the same request may succeed later unchanged (from the catalogue). */
  get retryable(): boolean {
    return errorCatalogue[this.code].retryable;
  }
}

/** A request field is wrong; `fields` names each one. */
export const invalidInput = (message: string, fields: FieldProblem[] = []) =>
  new GatewayError('validation_failed', message, { fields });

/** A field-level `invalidInput` whose message starts with the field's name. */
export const invalidField = (field: string, message: string) =>
  invalidInput(`${field}: ${message}`, [{ field, message }]);

export const notFound = (what: string, id: string) =>
  new GatewayError('not_found', `${what} ${JSON.stringify(id)} does not exist`);

export const conflict = (message: string, extra: Record<string, unknown> = {}) =>
  new GatewayError('conflict', message, extra);

/** One FieldProblem per zod issue, named by its path (`numbers.1`, `(body)` for the whole). */
export function fieldsFromZod(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
}
