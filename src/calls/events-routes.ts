import { Router } from 'express';
import { Gauge } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';
import type { Db } from '../db/index.js';
import { actorOf } from '../http-kit/auth.js';
import { requireRole } from '../http-kit/auth.js';
import type { LiveCallFeed } from './live-feed.js';

const openStreams = new Gauge({
  name: 'voice_gateway_event_streams',
  help: 'GET /api/events streams open on this API process (consoles watching live calls)',
  registers: [metricsRegistry],
});

/** A comment line every so often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** How often an open stream checks its key still stands: a revoked key stops watching. */
export const STREAM_KEY_CHECK_MS = 5_000;

/**
 * GET /api/events: Server-Sent Events of call changes (docs/admin.md). Each `call` event is one
 * changed call (the API's view, its transcript so far, on_hold). Authorised like every API
 * route, by the key in the Authorization header (read the stream with fetch; EventSource
 * cannot send headers). A stream whose key is revoked ends within STREAM_KEY_CHECK_MS.
 */
export function eventsRouter(feed: LiveCallFeed, db: Db): Router {
  const r = Router();
  r.get('/events', requireRole('viewer'), (req, res) => {
    const { keyId } = actorOf(req);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    res.write(`event: ready\ndata: {}\n\n`);
    const stop = feed.listen((calls) => {
      for (const call of calls) res.write(`event: call\ndata: ${JSON.stringify(call)}\n\n`);
    });
    openStreams.inc();
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const keyCheck = setInterval(() => {
      db.selectFrom('apiKeys')
        .select('id')
        .where('id', '=', keyId)
        .where('revokedAt', 'is', null)
        .executeTakeFirst()
        .then(
          (key) => {
            if (key) return;
            res.write('event: revoked\ndata: {}\n\n');
            res.end();
          },
          () => undefined,
        );
    }, STREAM_KEY_CHECK_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      clearInterval(keyCheck);
      stop();
      openStreams.dec();
    });
  });
  return r;
}
