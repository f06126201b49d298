import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { roleAllows, verifyApiKey, type Role } from '../apikeys/keys.js';
import type { Actor } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { GatewayError } from '../errors/index.js';
import type { RateLimits } from './rate-limit.js';

export interface AuthenticatedActor extends Actor {
  keyId: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    actor?: AuthenticatedActor;
  }
}

const LAST_USED_RESOLUTION_MS = 60_000;

function presentedKey(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  return req.get('x-api-key')?.trim();
}

/**
 * Requires a valid API key (Bearer or X-API-Key); 401 otherwise. With `limits`, a source with
 * too many failed checks gets 429 before its key is even looked at (a right guess must look
 * like a wrong one), and a verified key counts against its own limit.
 */
export function authenticate(
  db: Db,
  onError: (error: unknown) => void,
  limits?: Pick<RateLimits, 'authBlocked' | 'authFailed' | 'perKey'>,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    if (!key) {
      next(
        new GatewayError('unauthenticated', 'missing API key: send Authorization: Bearer <key>'),
      );
      return;
    }
    const blocked = await limits?.authBlocked(req, res);
    if (blocked) {
      next(blocked);
      return;
    }
    const record = await verifyApiKey(db, key);
    if (!record) {
      await limits?.authFailed(req);
      next(new GatewayError('unauthenticated', 'invalid or revoked API key'));
      return;
    }
    req.actor = { keyId: record.id, name: record.name, role: record.role };
    if (!record.lastUsedAt || Date.now() - record.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Off the request path: when a key was last used is for humans, not for this request.
      record.lastUsedAt = new Date();
      db.updateTable('apiKeys')
        .set({ lastUsedAt: record.lastUsedAt })
        .where('id', '=', record.id)
        .execute()
        .catch(onError);
    }
    if (limits) limits.perKey(req, res, next);
    else next();
  };
}

/** 403 unless the caller's role is at least `needed`. */
export function requireRole(needed: Role): RequestHandler {
  return (req, _res, next) => {
    const actor = req.actor;
    if (!actor) {
      next(new GatewayError('unauthenticated', 'missing API key'));
    } else if (!roleAllows(actor.role, needed)) {
      next(
        new GatewayError(
          'forbidden',
          `this action needs the ${needed} role; your key has ${actor.role}`,
        ),
      );
    } else {
      next();
    }
  };
}

export function actorOf(req: Request): AuthenticatedActor {
  if (!req.actor) throw new GatewayError('unauthenticated', 'missing API key');
  return req.actor;
}
