import type { Request } from 'express';
import { ApiError } from './errors.js';

/** A path parameter as one string (Express types allow arrays for wildcard routes). */
export function pathParam(req: Request, name = 'id'): string {
  const value: unknown = req.params[name];
  if (typeof value !== 'string' || value === '') {
    throw new ApiError(400, 'validation_failed', `missing path parameter ${name}`);
  }
  return value;
}
