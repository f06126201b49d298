import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import {
  issueTurnCredentials,
  normaliseTurnSecret,
  turnCredentialFor,
} from '../src/turn/credentials.js';
import { turnAllocate } from '../src/turn/stun.js';
import { startCoturn, type Coturn } from '../scripts/stack/coturn.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const stack = inject('stack');
const SECRET = 'turn-shared-secret-for-tests-0001';
let coturn: Coturn;
let gw: TestGateway;

beforeAll(async () => {
  coturn = await startCoturn(SECRET);
  // The secret arrives with a trailing CR/LF, as from a .env file edited on Windows.
  gw = await startTestGateway({
    env: { TURN_SECRET: `${SECRET}\r\n`, TURN_HOST: '127.0.0.1', TURN_PORT: String(coturn.port) },
  });
});
afterAll(async () => {
  await gw?.close();
  await coturn?.stop();
});

describe('TURN REST credentials', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('./vectors/turn-rest-credentials.json', import.meta.url), 'utf8'),
  ) as {
    cases: { secret: string; username: string; credential: string }[];
  };

  it('match the known answers computed with openssl', () => {
    for (const c of vectors.cases)
      expect(turnCredentialFor(c.secret, c.username)).toBe(c.credential);
  });

  it('come out the same from a secret with a trailing CR/LF', () => {
    const [first] = vectors.cases;
    expect(turnCredentialFor(normaliseTurnSecret(`${first!.secret}\r\n`), first!.username)).toBe(
      first!.credential,
    );
  });

  it('refuses a secret too short to be one', () => {
    expect(() => loadConfig({ TURN_SECRET: 'short' })).toThrow(/TURN_SECRET/);
  });
});

describe('against a real coturn', () => {
  it('credentials from our API pass a real Allocate', async () => {
    const res = await gw.request('GET', '/api/turn/credentials?user=alice');
    expect(res.status).toBe(200);
    expect(res.body.username).toMatch(/^\d+:alice$/);
    expect(res.body.uris).toEqual([
      `turn:127.0.0.1:${coturn.port}?transport=udp`,
      `turn:127.0.0.1:${coturn.port}?transport=tcp`,
    ]);
    const allocation = await turnAllocate(
      '127.0.0.1',
      coturn.port,
      res.body.username,
      res.body.credential,
    );
    expect(allocation).toMatchObject({ ok: true, realm: 'voice-gateway' });
    expect(allocation.relayedAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("coturn's secret is not on its command line, where any local user reads it with ps", () => {
    const pid = coturn.process.child.pid!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.join(' ')).not.toContain(SECRET);
    // The config it reads the secret from is for coturn's user alone.
    const config = cmdline[cmdline.indexOf('-c') + 1]!;
    expect(readFileSync(config, 'utf8')).toContain(`static-auth-secret=${SECRET}`);
    expect(statSync(config).mode & 0o077).toBe(0);
    expect(statSync(path.dirname(config)).mode & 0o077).toBe(0);
  });

  it('a wrong secret, an expired username and a malformed one get 401', async () => {
    const wrong = issueTurnCredentials('some-other-secret-entirely', 'bob', 600);
    expect(
      (await turnAllocate('127.0.0.1', coturn.port, wrong.username, wrong.credential)).status,
    ).toBe(401);
    const expired = issueTurnCredentials(SECRET, 'bob', 600, new Date(Date.now() - 3_600_000));
    expect(expired.expiresAt.getTime()).toBeLessThan(Date.now());
    expect(
      (await turnAllocate('127.0.0.1', coturn.port, expired.username, expired.credential)).status,
    ).toBe(401);
    const malformed = 'bob-without-expiry';
    expect(
      (
        await turnAllocate(
          '127.0.0.1',
          coturn.port,
          malformed,
          turnCredentialFor(SECRET, malformed),
        )
      ).status,
    ).toBe(401);
  });
});

describe('diagnosing a TURN username/credential pair', () => {
  it('passes ours, and names an expired pair and one made with another secret', async () => {
    const ours = (await gw.request('GET', '/api/turn/credentials?user=carol')).body;
    const q = (u: string, c: string) =>
      `/api/diagnostics/turn?username=${encodeURIComponent(u)}&credential=${encodeURIComponent(c)}`;
    const good = (await gw.request('GET', q(ours.username, ours.credential))).body;
    expect(good.status).toBe('pass');
    expect(good.findings.map((f: { check: string }) => f.check)).toEqual([
      'turn.pair_expiry',
      'turn.pair_secret',
      'turn.allocate',
      'turn.clock',
      'turn.relay',
    ]);
    const foreign = issueTurnCredentials('another-secret-someone-used', 'carol', 600);
    const wrong = (await gw.request('GET', q(foreign.username, foreign.credential))).body;
    expect(
      wrong.findings.find((f: { check: string }) => f.check === 'turn.pair_secret'),
    ).toMatchObject({ status: 'fail', cause: expect.stringMatching(/different secrets/) });
    const old = issueTurnCredentials(SECRET, 'carol', 60, new Date(Date.now() - 3_600_000));
    const expired = (await gw.request('GET', q(old.username, old.credential))).body;
    expect(
      expired.findings.find((f: { check: string }) => f.check === 'turn.pair_expiry'),
    ).toMatchObject({ status: 'fail' });
  });
});

describe('joining a room', () => {
  it('gives a LiveKit token for the room and the ICE servers', async () => {
    const res = await gw.request('POST', '/api/rooms/support-room/join', {
      identity: 'web-alice',
      name: 'Alice',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      room: 'support-room',
      identity: 'web-alice',
      livekit_url: stack.livekitUrl.replace('http', 'ws'),
    });
    const claims = await new TokenVerifier(stack.apiKey, stack.apiSecret).verify(res.body.token);
    expect(claims.video).toMatchObject({
      roomJoin: true,
      room: 'support-room',
      canPublish: true,
      canSubscribe: true,
    });
    expect(claims.sub).toBe('web-alice');
    expect(res.body.ice_servers[0].urls[0]).toBe(`turn:127.0.0.1:${coturn.port}?transport=udp`);
    const allocation = await turnAllocate(
      '127.0.0.1',
      coturn.port,
      res.body.turn.username,
      res.body.turn.credential,
    );
    expect(allocation.ok).toBe(true);
  });

  it('accepts a signed link instead of an API key, and nothing else', async () => {
    const created = await gw.request('POST', '/api/rooms/support-room/links', {
      identity: 'guest-7',
      ttl_seconds: 600,
    });
    expect(created.status).toBe(201);
    const join = (body: unknown, room = 'support-room') =>
      gw.request('POST', `/api/rooms/${room}/join`, body, null);
    const ok = await join({ link: created.body.link });
    expect(ok.status).toBe(200);
    expect(ok.body.identity).toBe('guest-7');
    // Every one-character change of the MAC is refused, padding bits included.
    const link: string = created.body.link;
    for (const c of ['A', 'B', 'C', 'D', 'w']) {
      const tampered = link.slice(0, -1) + c;
      if (tampered !== link) expect((await join({ link: tampered })).status).toBe(401);
    }
    expect((await join({ link: created.body.link }, 'other-room')).status).toBe(401);
    expect((await join({})).status).toBe(401);
    const viewer = await gw.keyFor('viewer');
    expect((await gw.request('POST', '/api/rooms/support-room/links', {}, viewer)).status).toBe(
      403,
    );
  });

  it('names a bad room name or identity', async () => {
    const res = await gw.request('POST', '/api/rooms/bad%20room!/join', {});
    expect(res.status).toBe(400);
    expect(res.body.fields[0].field).toBe('room');
    const identity = await gw.request('POST', '/api/rooms/ok-room/join', {
      identity: 'no spaces please',
    });
    expect(identity.status).toBe(400);
    expect(identity.body.fields[0].field).toBe('identity');
  });
});

describe('without TURN configured', () => {
  it('says what is missing', async () => {
    const bare = await startTestGateway();
    try {
      const res = await bare.request('GET', '/api/turn/credentials');
      expect(res.status).toBe(503);
      expect(res.body.message).toContain('TURN_SECRET');
      expect((await bare.request('POST', '/api/rooms/r1/join', {})).body.ice_servers).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});
