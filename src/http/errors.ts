import type { ApiErrorBody } from '../contract/index.js';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import type { Logger } from '../config/index.js';
import { LivekitError } from '../livekit/index.js';

export interface FieldProblem {
  field: string;
  message: string;
}

/** The one error type routes throw; the handler below renders it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, fields: FieldProblem[] = []) =>
  new ApiError(400, 'validation_failed', message, { fields });
export const notFound = (what: string, id: string) =>
  new ApiError(404, 'not_found', `${what} ${JSON.stringify(id)} does not exist`);
export const conflict = (message: string, extra: Record<string, unknown> = {}) =>
  new ApiError(409, 'conflict', message, extra);

export function fieldsFromZod(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
}

/** Parses `input` with `schema`, or throws a 400 naming every bad field. */
export function parseBody<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const fields = fieldsFromZod(parsed.error);
    throw badRequest(
      `invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
  return parsed.data;
}

/** LiveKit down answers 503; LiveKit refusing the object answers 422 with its reason. */
export function livekitToApiError(
  error: LivekitError,
  extra: Record<string, unknown> = {},
): ApiError {
  if (error.kind === 'unavailable') {
    return new ApiError(503, 'livekit_unavailable', error.message, extra);
  }
  if (error.code === 'already_exists') {
    return new ApiError(
      409,
      'livekit_conflict',
      `LiveKit already holds a conflicting object: ${error.message}`,
      extra,
    );
  }
  return new ApiError(
    422,
    'livekit_rejected',
    `LiveKit rejected the change: ${error.message}`,
    extra,
  );
}

interface PrismaKnownError {
  code: string;
  meta?: { target?: string[] | string; modelName?: string };
}

function isPrismaKnownError(error: unknown): error is PrismaKnownError & Error {
  return (
    error instanceof Error &&
    error.name === 'PrismaClientKnownRequestError' &&
    typeof (error as unknown as PrismaKnownError).code === 'string'
  );
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let apiError: ApiError;
    if (error instanceof ApiError) {
      apiError = error;
    } else if (error instanceof LivekitError) {
      apiError = livekitToApiError(
        error,
        error.stored === undefined ? {} : { stored: error.stored },
      );
    } else if (isPrismaKnownError(error) && error.code === 'P2002') {
      const target = error.meta?.target;
      apiError = conflict(
        `already exists: ${Array.isArray(target) ? target.join(', ') : (target ?? 'unique field')}`,
      );
    } else if (isPrismaKnownError(error) && error.code === 'P2025') {
      apiError = new ApiError(404, 'not_found', 'the object does not exist');
    } else if (isBodyParserError(error)) {
      apiError =
        error.type === 'entity.too.large'
          ? new ApiError(413, 'body_too_large', `request body is larger than ${error.limit} bytes`)
          : new ApiError(400, 'invalid_json', `request body is not valid JSON: ${error.message}`);
    } else {
      logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
      apiError = new ApiError(500, 'internal_error', 'internal error');
    }
    if (apiError.status === 503) res.setHeader('Retry-After', '30');
    const retryAfter = apiError.extra.retry_after_seconds;
    if (apiError.status === 429 && typeof retryAfter === 'number') {
      res.setHeader('Retry-After', String(retryAfter));
    }
    res.status(apiError.status).json({
      error: apiError.code,
      message: apiError.message,
      ...apiError.extra,
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
