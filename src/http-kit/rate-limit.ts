import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Options, type Store } from 'express-rate-limit';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import { GatewayError } from '../errors/index.js';
import { CounterStores } from './rate-limit-store.js';

/** Paths whose callers are LiveKit and the call hosts: a per-source ceiling, no key limit. */
const MACHINE_PATHS = /^\/(?:internal|webhooks\/livekit)(?:\/|$)/;

function sourceOf(req: Request): string {
  return ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}

/** Draft-8 RateLimit headers by hand, for the limits counted outside a middleware. */
function limitHeaders(res: Response, name: string, limit: number, windowMs: number, reset: number) {
  res.append('RateLimit', `"${name}"; r=0; t=${reset}`);
  res.append('RateLimit-Policy', `"${name}"; q=${limit}; w=${Math.ceil(windowMs / 1000)}`);
  res.setHeader('Retry-After', String(reset));
}

const secondsUntil = (at: Date | undefined, fallbackMs: number) =>
  Math.max(1, Math.ceil(((at?.getTime() ?? Date.now() + fallbackMs) - Date.now()) / 1000));

export interface RateLimits {
  /** Mounted first: per source address, with its own ceiling for /internal and LiveKit. */
  perSource: RequestHandler;
  /** Run by authenticate once a key is verified (req.actor set). */
  perKey: RequestHandler;
  /** Failed API-key checks per source: a 429 to give before checking a key, if any. */
  authBlocked(req: Request, res: Response): Promise<GatewayError | undefined>;
  authFailed(req: Request): Promise<void>;
  /**
   * One more call on a trunk with calls_per_second_limit `limit`: undefined when it may go,
   * else the seconds to wait. Shared by every API process (Redis); on for every trunk with a limit.
   */
  callsPerSecond(trunkId: string, limit: number): Promise<number | undefined>;
  close(): Promise<void>;
}

/** The API's rate limits (docs/operator.md). Counts in Redis when REDIS_URL is set. */
export function createRateLimits(config: GatewayConfig, logger: Logger): RateLimits {
  const settings = config.rateLimits;
  const stores = new CounterStores(config.webhooksOut.redisUrl, logger);
  if (!stores.shared && settings.enabled) {
    logger.warn('REDIS_URL is unset: rate limits are counted per API process');
  }
  const storeFailed = (error: unknown) =>
    logger.warn({ err: error }, 'rate limit store failed; request let through');
  /** A count that failed (Redis away) lets the request through, logged. */
  const counted = async <T>(count: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await count();
    } catch (error) {
      storeFailed(error);
      return undefined;
    }
  };
  const limiter = (name: string, limit: number, key: (req: Request) => string): RequestHandler =>
    rateLimit({
      windowMs: settings.windowMs,
      limit,
      identifier: name,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: key,
      store: stores.store(name),
      // Redis away: the API stays up; the concurrency caps and destination policy still hold.
      passOnStoreError: true,
      logger: { error: storeFailed, warn: storeFailed },
      // Our app does not trust X-Forwarded-For (trust proxy false); the checks only warn of it.
      validate: { xForwardedForHeader: false, trustProxy: false },
      handler: (_req, _res, next, options: Options) =>
        next(
          new GatewayError(
            'rate_limited',
            `too many requests (${name}: ${options.limit} per ${settings.windowMs / 1000} s); retry after the Retry-After seconds`,
            { limit: name },
          ),
        ),
    });
  const pass: RequestHandler = (_req, _res, next) => next();
  const source = settings.enabled ? limiter('per_source', settings.perSource, sourceOf) : pass;
  const machines = settings.enabled
    ? limiter('internal_per_source', settings.internalPerSource, sourceOf)
    : pass;
  const perKey = settings.enabled
    ? limiter('per_key', settings.perKey, (req) => req.actor?.keyId ?? sourceOf(req))
    : pass;

  const failures: Store = stores.standalone('auth_failures', settings.authFailureWindowMs);
  const cps: Store = stores.standalone('cps', 1000);

  return {
    perSource: (req, res, next) =>
      (MACHINE_PATHS.test(req.path) ? machines : source)(req, res, next),
    perKey,
    async authBlocked(req, res) {
      if (!settings.enabled) return undefined;
      const seen = await counted(() => failures.get?.(sourceOf(req)));
      // A source never seen reads as NaN hits from rate-limit-redis (GET of no key).
      if (!seen || !(seen.totalHits >= settings.authFailures)) return undefined;
      const reset = secondsUntil(seen.resetTime, settings.authFailureWindowMs);
      limitHeaders(
        res,
        'auth_failures',
        settings.authFailures,
        settings.authFailureWindowMs,
        reset,
      );
      return new GatewayError(
        'rate_limited',
        `too many failed API-key checks from this address (${settings.authFailures} per ${settings.authFailureWindowMs / 1000} s); retry after the Retry-After seconds`,
        { limit: 'auth_failures' },
      );
    },
    async authFailed(req) {
      if (!settings.enabled) return;
      await counted(() => failures.increment(sourceOf(req)));
    },
    async callsPerSecond(trunkId, limit) {
      const hits = await counted(() => cps.increment(trunkId));
      if (!hits || hits.totalHits <= limit) return undefined;
      return secondsUntil(hits.resetTime, 1000);
    },
    close: () => stores.close(),
  };
}
