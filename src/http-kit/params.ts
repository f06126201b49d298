import type { Request } from 'express';
import { GatewayError } from '../errors/index.js';

/** A path parameter as one string (Express types allow arrays for wildcard routes). */
export function pathParam(req: Request, name = 'id'): string {
  const value: unknown = req.params[name];
  if (typeof value !== 'string' || value === '') {
    throw new GatewayError('validation_failed', `missing path parameter ${name}`);
  }
  return value;
}
