import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/apikeys/keys.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

// API rate limits on the real Redis of the test stack, shared by two API processes. Each
// scenario comes from its own loopback address, as an outside caller would.

const LIMITS = {
  RATE_LIMIT_WINDOW_SECONDS: '60',
  RATE_LIMIT_PER_KEY: '5',
  RATE_LIMIT_PER_SOURCE: '8',
  RATE_LIMIT_INTERNAL_PER_SOURCE: '4',
  RATE_LIMIT_AUTH_FAILURES: '3',
  RATE_LIMIT_AUTH_FAILURE_WINDOW_SECONDS: '300',
};
let one: TestGateway;
let two: TestGateway;

beforeAll(async () => {
  one = await startTestGateway({ env: LIMITS });
  two = await startTestGateway({
    databaseUrl: one.databaseUrl,
    dataDir: one.dataDir,
    encryptionKey: one.encryptionKey,
    env: LIMITS,
  });
});
afterAll(async () => {
  await two?.close();
  await one?.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: string; limit?: string };
}

/** A request from `source` (a loopback address), with an optional API key. */
function from(
  source: string,
  gw: TestGateway,
  method: string,
  path: string,
  key?: string,
): Promise<Answer> {
  // /internal is served on the internal listener only.
  const url = new URL(path, path.startsWith('/internal') ? gw.internalUrl : gw.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        localAddress: source,
        headers: key ? { authorization: `Bearer ${key}` } : {},
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          let body = {};
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

const newKey = async (name: string) =>
  (await createApiKey(one.api.database.db, name, 'viewer')).key;

describe('API rate limits', { timeout: 60_000 }, () => {
  it('a key is limited across two API processes: 429 with Retry-After and RateLimit headers', async () => {
    const key = await newKey('per-key');
    const answers: Answer[] = [];
    // 5 per key: alternately on both processes, from two addresses (the key is what counts).
    for (let i = 0; i < 5; i += 1) {
      const source = i % 2 ? '127.0.0.11' : '127.0.0.12';
      answers.push(await from(source, i % 2 ? two : one, 'GET', '/api/trunks', key));
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[4]!.headers['ratelimit']).toMatch(/"per_key"; r=0; t=\d+/);
    expect(answers[4]!.headers['ratelimit-policy']).toMatch(/"per_key"; q=5; w=60/);

    const over = await from('127.0.0.13', two, 'GET', '/api/trunks', key);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ error: 'rate_limited', limit: 'per_key' });
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(over.headers['ratelimit']).toMatch(/"per_key"; r=0/);

    // Another key from the same address is not held back.
    const other = await from('127.0.0.13', one, 'GET', '/api/trunks', await newKey('other'));
    expect(other.status).toBe(200);
  });

  it('a source address is limited whatever keys it uses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const key = await newKey(`source-${i}`);
      statuses.push(
        (await from('127.0.0.21', i % 2 ? two : one, 'GET', '/api/trunks', key)).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    const over = await from('127.0.0.21', one, 'GET', '/api/trunks', await newKey('source-9'));
    expect(over.status).toBe(429);
    expect(over.body.limit).toBe('per_source');
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await from('127.0.0.22', one, 'GET', '/health')).status).toBe(200);
  });

  it('failed key checks are throttled per source: then even the right key gets 429', async () => {
    const wrong = 'vgk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
    const tries: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      tries.push((await from('127.0.0.31', i % 2 ? two : one, 'GET', '/api/trunks', wrong)).status);
    }
    expect(tries).toEqual([401, 401, 401]);
    const blocked = await from('127.0.0.31', two, 'GET', '/api/trunks', wrong);
    expect(blocked.status).toBe(429);
    expect(blocked.body.limit).toBe('auth_failures');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(60);
    expect(blocked.headers['ratelimit-policy']).toMatch(/"auth_failures"; q=3; w=300/);
    // A right guess looks like a wrong one from there...
    const right = await from('127.0.0.31', one, 'GET', '/api/trunks', one.adminKey);
    expect(right.status).toBe(429);
    // ...and the key itself is not locked out elsewhere.
    expect((await from('127.0.0.32', one, 'GET', '/api/trunks', one.adminKey)).status).toBe(200);
  });

  it('/internal and LiveKit webhooks have a per-source ceiling of their own, no key limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const path = i % 2 ? '/webhooks/livekit' : '/internal/agent/profiles/x';
      statuses.push((await from('127.0.0.41', i % 2 ? two : one, 'POST', path)).status);
    }
    expect(statuses.every((s) => s !== 429)).toBe(true);
    const over = await from('127.0.0.41', one, 'GET', '/internal/agent/profiles/x');
    expect(over.status).toBe(429);
    expect(over.body.limit).toBe('internal_per_source');
    expect(over.headers['ratelimit-policy']).toMatch(/"internal_per_source"; q=4; w=60/);
    // The API's own ceiling is a separate count.
    expect((await from('127.0.0.41', one, 'GET', '/health')).status).toBe(200);
  });
});
