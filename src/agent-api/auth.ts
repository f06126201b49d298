import type { RequestHandler } from 'express';
import { verifyAgentToken } from '../contract/index.js';
import { GatewayError } from '../errors/index.js';

/** Only the call hosts: a token derived from LiveKit's API secret (loopback is not a login). */
export function requireAgent(livekitApiSecret: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
    verifyAgentToken(livekitApiSecret, token).then(
      (ok) => next(ok ? undefined : new GatewayError('unauthenticated', 'invalid agent token')),
      next,
    );
  };
}
