import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { POSTGRES_ADMIN_URL } from './helpers/database.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { livekitEventBody, livekitSignature } from './helpers/livekit-webhook.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const DEADLINE_MS = 1500;
let gw: TestGateway;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms',
      WEBHOOK_TIMEOUT_MS: String(DEADLINE_MS),
      WEBHOOK_JOB_LOCK_MS: '1000',
    },
  });
});
afterAll(async () => {
  for (const close of closers) await close();
  await gw?.close();
});

/** A web caller joining a room, as LiveKit reports it: the gateway publishes call.started. */
async function callStarts(room: string) {
  const body = livekitEventBody('participant_joined', {
    room: { name: room, sid: `RM_${room}` },
    participant: { sid: `PA_${room}`, identity: `web-${room}`, kind: 'STANDARD' },
  });
  const response = await fetch(`${gw.url}/webhooks/livekit`, {
    method: 'POST',
    headers: {
      'content-type': 'application/webhook+json',
      authorization: await livekitSignature(body, stack.apiKey, stack.apiSecret),
    },
    body,
  });
  expect(response.status).toBe(200);
}

async function endpointFor(url: string): Promise<string> {
  const created = await gw.request('POST', '/api/webhook-endpoints', {
    url,
    event_types: ['call.started'],
  });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function deliveryOf(endpointId: string) {
  const log = await gw.request('GET', `/api/webhook-endpoints/${endpointId}/deliveries`);
  return log.body.items[0] as
    | {
        status: string;
        attempts: number;
        next_attempt_at: string | null;
        attempt_log: { status: number | null; error: string | null; duration_ms: number }[];
      }
    | undefined;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';

/**
 * A receiver on raw TCP: the first connection gets its answer a byte every 200 ms (status line
 * and all), the second gets the headers at once and then its body a byte every 200 ms, later
 * ones a plain 200. Each drip stops by itself after 30 s.
 */
async function drippingReceiver(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const n = connections++;
    socket.once('data', () => {
      if (n >= 2) return void socket.end(OK);
      let text = n === 0 ? OK : 'x'.repeat(200);
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n');
      const drip = setInterval(() => {
        if (socket.destroyed || text.length === 0) return clearInterval(drip);
        socket.write(text[0]!);
        text = text.slice(1);
      }, 200);
      const stop = setTimeout(() => socket.destroy(), 30_000);
      socket.on('close', () => {
        clearInterval(drip);
        clearTimeout(stop);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`,
    connections: () => connections,
  };
}

describe('customer webhook delivery, durable', () => {
  it('cuts a receiver that drips its answer at the attempt deadline, records why, and retries', async () => {
    const receiver = await drippingReceiver();
    const endpoint = await endpointFor(receiver.url);
    const startedAt = Date.now();
    await callStarts('drip-room');
    const delivered = await eventually(async () => {
      const d = await deliveryOf(endpoint);
      return d?.status === 'succeeded' ? d : undefined;
    }, 12_000);
    expect(delivered, 'the dripping receiver held the delivery past the deadline').toBeDefined();
    expect(receiver.connections()).toBe(3);
    const [headersDripped, bodyDripped, answered] = delivered!.attempt_log;
    // Headers dripped: no status known. Body dripped after a 200: still not a complete answer.
    for (const cut of [headersDripped!, bodyDripped!]) {
      expect(cut.status).toBeNull();
      expect(cut.error).toBe(`no complete answer within ${DEADLINE_MS} ms (WEBHOOK_TIMEOUT_MS)`);
      expect(cut.duration_ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(cut.duration_ms).toBeLessThan(DEADLINE_MS + 1000);
    }
    expect(answered!.status).toBe(200);
    expect(delivered!.attempts).toBe(3);
    expect(Date.now() - startedAt).toBeLessThan(3 * DEADLINE_MS + 5000);
    await gw.request('DELETE', `/api/webhook-endpoints/${endpoint}`);
  });

  it('delivers after the database comes back when an attempt lost it before recording, not a day later', async () => {
    const receiver: Receiver = await startReceiver((n) => (n === 0 ? 'hold' : 200));
    closers.push(() => receiver.close());
    const endpoint = await endpointFor(receiver.url);
    const dbName = new URL(gw.databaseUrl).pathname.slice(1);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    let recoveredAt = 0;
    try {
      await callStarts('db-restart-room');
      // The first attempt is on the wire (the receiver holds it): the database goes away, as in
      // a restart, and refuses connections until it is back.
      expect(await eventually(async () => receiver.requests.length === 1 || undefined)).toBe(true);
      await admin.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      // The attempt's deadline passes while the database is down: its result cannot be recorded.
      await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS + 1500));
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await admin.query(`ALTER DATABASE ${dbName} WITH ALLOW_CONNECTIONS true`);
      recoveredAt = Date.now();
      await admin.end();
    }
    const delivered = await eventually(async () => {
      const d = await deliveryOf(endpoint).catch(() => undefined);
      return d?.status === 'succeeded' ? d : undefined;
    }, 15_000);
    expect(delivered, 'the delivery stayed stuck after the database came back').toBeDefined();
    // Lease: WEBHOOK_TIMEOUT_MS + WEBHOOK_JOB_LOCK_MS after the lost attempt started.
    expect(Date.now() - recoveredAt).toBeLessThan(10_000);
    expect(receiver.requests.map((r) => r.answeredWith)).toEqual([0, 200]);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(delivered!.attempt_log.map((a) => a.status)).toEqual([200]);
    await gw.request('DELETE', `/api/webhook-endpoints/${endpoint}`);
  });
});
