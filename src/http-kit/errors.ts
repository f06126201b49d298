import type { ApiErrorBody } from '../contract/index.js';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import type { Logger } from '../kernel/logger.js';
import { errorCatalogue, fieldsFromZod, GatewayError, invalidInput } from '../errors/index.js';
import { LivekitError, livekitGatewayError } from '../livekit/index.js';

/** Parses `input` with `schema`, or throws a validation_failed naming every bad field. */
export function parseBody<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const fields = fieldsFromZod(parsed.error);
    throw invalidInput(
      `invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
  return parsed.data;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new GatewayError('not_found', `no route for ${req.method} ${req.path}`));
};

/** What reaches the handler, as a GatewayError; undefined for an error nobody expected. */
function gatewayErrorOf(error: unknown): GatewayError | undefined {
  if (error instanceof GatewayError) return error;
  if (error instanceof LivekitError) {
    return livekitGatewayError(error, error.stored === undefined ? {} : { stored: error.stored });
  }
  if (isBodyParserError(error)) {
    return error.type === 'entity.too.large'
      ? new GatewayError('body_too_large', `request body is larger than ${error.limit} bytes`)
      : new GatewayError(
          'invalid_json',
          `request body is not valid JSON: ${error.message}`,
          {},
          {
            cause: error,
          },
        );
  }
  return undefined;
}

/**
 * The one place an error becomes an HTTP answer: the code's status from the catalogue and the
 * body `{error, message, ...extra, retryable}`. Anything that is not a GatewayError (a pg error,
 * a bug) is logged and answered 500 internal_error.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let gatewayError = gatewayErrorOf(error);
    if (!gatewayError) {
      logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
      gatewayError = new GatewayError('internal_error', 'internal error');
    }
    const { status, retryable } = errorCatalogue[gatewayError.code];
    if (status === 503) res.setHeader('Retry-After', '30');
    const retryAfter = gatewayError.extra.retry_after_seconds;
    if (status === 429 && typeof retryAfter === 'number') {
      res.setHeader('Retry-After', String(retryAfter));
    }
    res.status(status).json({
      error: gatewayError.code,
      message: gatewayError.message,
      ...gatewayError.extra,
      retryable,
    } satisfies ApiErrorBody);
  };
}

function isBodyParserError(error: unknown): error is Error & { type: string; limit?: number } {
  return (
    error instanceof Error &&
    typeof (error as { type?: unknown }).type === 'string' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}
