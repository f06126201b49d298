import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { packageRoot } from '../src/config/paths.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { startProcess, waitUntil, type ManagedProcess } from '../scripts/stack/processes.js';
import { createTestDatabase, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { livekitEventBody, livekitSignature, webCallerJoins } from './helpers/livekit-webhook.js';
import { sample, scrape } from './helpers/metrics.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const fast = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms',
  WEBHOOK_JOB_LOCK_MS: '1000',
};
let gw: TestGateway;
const receivers: Receiver[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ env: fast });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await gw?.close();
});

async function receiver(answer: Receiver['answer'], delayMs?: number): Promise<Receiver> {
  const r = await startReceiver(answer, { delayMs });
  receivers.push(r);
  return r;
}

/** A web caller joining a room, as LiveKit would report it: opens a call, publishes call.started. */
async function callStarts(url: string, room: string) {
  expect(await webCallerJoins(url, room, stack)).toBe(200);
}

const started = (r: Receiver) =>
  r.requests.filter((q) => JSON.parse(q.body).type === 'call.started');

describe('customer webhooks', () => {
  it('retries a failing endpoint until it succeeds once, with the same webhook-id, verifiable with svix', async () => {
    const r = await receiver((n) => (n < 3 ? 500 : 200));
    const created = await gw.request('POST', '/api/webhook-endpoints', {
      url: r.url,
      event_types: ['call.started'],
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const metrics = async () => {
      const text = await scrape(`${gw.internalUrl}/metrics`);
      return {
        ok: sample(text, 'voice_gateway_webhook_attempts_total', { result: 'ok' }) ?? 0,
        failed: sample(text, 'voice_gateway_webhook_attempts_total', { result: 'http_error' }) ?? 0,
        lagCount: sample(text, 'voice_gateway_webhook_delivery_lag_seconds_count') ?? 0,
        lagSum: sample(text, 'voice_gateway_webhook_delivery_lag_seconds_sum') ?? 0,
      };
    };
    const before = await metrics();
    await callStarts(gw.url, 'retry-room');
    const done = await eventually(async () => (r.requests.length >= 4 ? true : undefined), 15_000);
    expect(done, `only ${r.requests.length} attempts arrived`).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(r.requests.map((q) => q.answeredWith)).toEqual([500, 500, 500, 200]);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
    const last = r.requests[3]!;
    const payload = new Webhook(created.body.secret).verify(last.body, {
      'webhook-id': String(last.headers['webhook-id']),
      'webhook-timestamp': String(last.headers['webhook-timestamp']),
      'webhook-signature': String(last.headers['webhook-signature']),
    }) as { type: string; data: { call: { room_name: string } } };
    expect(payload.type).toBe('call.started');
    expect(payload.data.call.room_name).toBe('retry-room');
    const log = await gw.request('GET', `/api/webhook-endpoints/${created.body.id}/deliveries`);
    expect(log.body.items[0]).toMatchObject({
      status: 'succeeded',
      attempts: 4,
      event_type: 'call.started',
    });
    expect(log.body.items[0].attempt_log.map((a: { status: number }) => a.status)).toEqual([
      500, 500, 500, 200,
    ]);
    // The operator's view: three failed attempts, one success, and a lag that took the retries.
    const after = await metrics();
    expect(after.failed - before.failed).toBe(3);
    expect(after.ok - before.ok).toBe(1);
    expect(after.lagCount - before.lagCount).toBe(1);
    expect(after.lagSum - before.lagSum).toBeGreaterThanOrEqual(0.6);
    await gw.request('DELETE', `/api/webhook-endpoints/${created.body.id}`);
  });

  it('never returns the secret after creation and stores it encrypted', async () => {
    const r = await receiver(() => 200);
    const created = await gw.request('POST', '/api/webhook-endpoints', { url: r.url });
    const listed = await gw.request('GET', '/api/webhook-endpoints');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect(
      JSON.stringify((await gw.request('GET', `/api/webhook-endpoints/${created.body.id}`)).body),
    ).not.toContain(created.body.secret);
    const row = await gw.api.database.db
      .selectFrom('webhookEndpoints')
      .selectAll()
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(created.body.secret.slice(6));
    expect(row.secretEnc).toMatch(/^v1:/);
    await gw.request('DELETE', `/api/webhook-endpoints/${created.body.id}`);
  });

  it('after a rotation, signs with both the old and the new secret', async () => {
    const r = await receiver(() => 200);
    const created = await gw.request('POST', '/api/webhook-endpoints', {
      url: r.url,
      event_types: ['call.started'],
    });
    const rotated = await gw.request(
      'POST',
      `/api/webhook-endpoints/${created.body.id}/rotate-secret`,
    );
    expect(rotated.body.secret).not.toBe(created.body.secret);
    await callStarts(gw.url, 'rotation-room');
    const got = await eventually(async () => started(r)[0], 10_000);
    expect(got).toBeDefined();
    const headers = {
      'webhook-id': String(got!.headers['webhook-id']),
      'webhook-timestamp': String(got!.headers['webhook-timestamp']),
      'webhook-signature': String(got!.headers['webhook-signature']),
    };
    expect(() => new Webhook(created.body.secret).verify(got!.body, headers)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(got!.body, headers)).not.toThrow();
    expect(() =>
      new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(got!.body, headers),
    ).toThrow();
    await gw.request('DELETE', `/api/webhook-endpoints/${created.body.id}`);
  });

  it('disables an endpoint that answers 410 and sends it nothing more', async () => {
    const r = await receiver(() => 410);
    const created = await gw.request('POST', '/api/webhook-endpoints', {
      url: r.url,
      event_types: ['call.started'],
    });
    await callStarts(gw.url, 'gone-room');
    const disabled = await eventually(async () => {
      const e = (await gw.request('GET', `/api/webhook-endpoints/${created.body.id}`)).body;
      return e.enabled ? undefined : e;
    }, 10_000);
    expect(disabled?.disabled_reason).toContain('410');
    await callStarts(gw.url, 'gone-room-2');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(r.requests).toHaveLength(1);
    const audit = await gw.request(
      'GET',
      `/api/audit?action=webhook_endpoint.disable&entity_id=${created.body.id}`,
    );
    expect(audit.body.total).toBe(1);
    const diagnosis = await gw.request('GET', '/api/diagnostics/webhooks');
    const finding = diagnosis.body.findings.find(
      (f: { check: string }) => f.check === `webhooks.endpoint ${r.url}`,
    );
    expect(finding).toMatchObject({
      status: 'fail',
      cause: 'the endpoint is disabled: it receives nothing',
    });
    expect(finding.evidence).toContain('410');
  });

  it('refuses to deliver to a private address unless allowed, and records why', async () => {
    const strict = await startTestGateway();
    try {
      const r = await receiver(() => 200);
      const created = await strict.request('POST', '/api/webhook-endpoints', {
        url: r.url,
        event_types: ['call.started'],
      });
      await callStarts(strict.url, 'ssrf-room');
      const log = await eventually(async () => {
        const body = (
          await strict.request('GET', `/api/webhook-endpoints/${created.body.id}/deliveries`)
        ).body;
        return body.items[0]?.attempts > 0 ? body : undefined;
      }, 10_000);
      expect(log?.items[0].last_error).toMatch(
        /127\.0\.0\.1 \(loopback\); internal addresses are refused/,
      );
      expect(r.requests).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it("delivers a call's own webhook_url the same way, signed with the call secret", async () => {
    const r = await receiver(() => 200);
    await callStarts(gw.url, 'per-call-room');
    // POST /api/calls (the agent issue) sets webhook_url when it dials; here the record gets it.
    await gw.api.database.db
      .updateTable('calls')
      .set({ webhookUrl: r.url })
      .where('roomName', '=', 'per-call-room')
      .execute();
    const left = livekitEventBody('participant_left', {
      room: { name: 'per-call-room', sid: 'RM_per-call-room' },
      participant: {
        sid: 'PA_per-call-room',
        identity: 'web-per-call-room',
        kind: 'STANDARD',
        disconnectReason: 'CLIENT_INITIATED',
      },
    });
    const res = await fetch(`${gw.url}/webhooks/livekit`, {
      method: 'POST',
      headers: {
        'content-type': 'application/webhook+json',
        authorization: await livekitSignature(left, stack.apiKey, stack.apiSecret),
      },
      body: left,
    });
    expect(res.status).toBe(200);
    const got = await eventually(
      async () => r.requests.find((q) => JSON.parse(q.body).type === 'call.ended'),
      10_000,
    );
    expect(got, 'the call webhook_url got no call.ended').toBeDefined();
    const secret = readFileSync(path.join(gw.dataDir, 'call-webhook-secret'), 'utf8').trim();
    const payload = new Webhook(secret).verify(got!.body, {
      'webhook-id': String(got!.headers['webhook-id']),
      'webhook-timestamp': String(got!.headers['webhook-timestamp']),
      'webhook-signature': String(got!.headers['webhook-signature']),
    }) as { data: { call: { end_reason: string } } };
    expect(payload.data.call.end_reason).toBe('caller_hangup');
  });

  it('two API processes on one database, reached through different URLs, send each message once', async () => {
    // As through a pooler or another host name: another URL, the same database.
    const otherUrl = new URL(gw.databaseUrl);
    otherUrl.searchParams.set('application_name', 'second-api');
    expect(otherUrl.toString()).not.toBe(gw.databaseUrl);
    const second = await startTestGateway({
      databaseUrl: otherUrl.toString(),
      encryptionKey: gw.encryptionKey,
      env: fast,
    });
    try {
      // A slow receiver keeps deliveries in flight while both workers look for due ones.
      const r = await receiver(() => 200, 1200);
      const created = await gw.request('POST', '/api/webhook-endpoints', {
        url: r.url,
        event_types: ['call.started'],
      });
      for (let i = 0; i < 20; i += 1)
        await callStarts(i % 2 ? gw.url : second.url, `two-procs-${i}`);
      const all = await eventually(
        async () => (started(r).length >= 20 ? true : undefined),
        20_000,
      );
      expect(all, `${started(r).length} of 20 arrived`).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const ids = started(r).map((q) => String(q.headers['webhook-id']));
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      await gw.request('DELETE', `/api/webhook-endpoints/${created.body.id}`);
    } finally {
      await second.api.close();
    }
  });

  it('delivers to a URL with a host name, to the address checked for it', async () => {
    const r = await receiver(() => 200);
    const created = await gw.request('POST', '/api/webhook-endpoints', {
      url: r.url.replace('127.0.0.1', 'localhost'),
      event_types: ['call.started'],
    });
    await callStarts(gw.url, 'hostname-room');
    const got = await eventually(async () => started(r)[0], 10_000);
    expect(got, 'nothing arrived at the host-name URL').toBeDefined();
    await gw.request('DELETE', `/api/webhook-endpoints/${created.body.id}`);
  });

  it('names bad input', async () => {
    const bad = await gw.request('POST', '/api/webhook-endpoints', {
      url: 'ftp://x.example',
      event_types: ['call.exploded'],
      colour: 'red',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      '(body)',
      'event_types.0',
      'url',
    ]);
    expect(
      (await gw.request('GET', '/api/webhook-endpoints/00000000-0000-0000-0000-000000000000'))
        .status,
    ).toBe(404);
    const viewer = await gw.keyFor('viewer');
    expect(
      (await gw.request('POST', '/api/webhook-endpoints', { url: 'https://x.example' }, viewer))
        .status,
    ).toBe(403);
  });
});

describe('a crash in the middle of a delivery', () => {
  let api: ManagedProcess | undefined;
  afterAll(async () => {
    await api?.stop();
  });

  it('is completed after the API restarts, nothing lost', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-crash-'));
    const port = await freeTcpPort();
    const env = {
      ...process.env,
      ...fast,
      DATABASE_URL: database.url,
      GATEWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      GATEWAY_DATA_DIR: dataDir,
      API_PORT: String(port),
      LIVEKIT_URL: stack.livekitUrl,
      LIVEKIT_API_KEY: stack.apiKey,
      LIVEKIT_API_SECRET: stack.apiSecret,
      REDIS_URL: `redis://${stack.redisAddress}`,
      RECONCILE_INTERVAL_SECONDS: '0',
      CALLS_RECONCILE_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
    };
    const start = async () => {
      const proc = startProcess(
        'api-crash',
        process.execPath,
        ['--import', 'tsx', 'src/http/main.ts'],
        { logDir: dataDir, cwd: packageRoot(), env },
      );
      await waitUntil('api', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, {
        timeoutMs: 30_000,
        exited: proc.exited,
      });
      return proc;
    };
    api = await start();
    const url = `http://127.0.0.1:${port}`;
    const { createApiKey } = await import('../src/apikeys/keys.js');
    const { createDb } = await import('../src/db/index.js');
    const db = createDb(database.url, 1);
    const key = (await createApiKey(db, 'crash-test', 'admin')).key;
    // The first request is held open: the API dies while it is in flight.
    const r = await receiver((n) => (n === 0 ? 'hold' : 200));
    const created = await fetch(`${url}/api/webhook-endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: r.url, event_types: ['call.started'] }),
    }).then((res) => res.json() as Promise<{ id: string }>);
    await callStarts(url, 'crash-room');
    expect(await eventually(async () => (r.requests.length === 1 ? true : undefined), 10_000)).toBe(
      true,
    );
    api.child.kill('SIGKILL');
    await api.exited;
    api = await start();
    const delivered = await eventually(
      async () => (r.requests.some((q) => q.answeredWith === 200) ? true : undefined),
      20_000,
    );
    expect(delivered, 'the delivery was lost with the crash').toBe(true);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(1);
    // The worker records the outcome just after the receiver answers.
    const row = await eventually(async () => {
      const found = await db
        .selectFrom('webhookDeliveries')
        .selectAll()
        .where('endpointId', '=', created.id)
        .executeTakeFirstOrThrow();
      return found.status === 'succeeded' ? found : undefined;
    }, 10_000);
    expect(row?.status).toBe('succeeded');
    await db.destroy();
    await api.stop();
    api = undefined;
    await database.drop();
  }, 90_000);
});
