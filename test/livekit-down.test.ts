import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { SipClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';

let down: TestGateway;
let up: TestGateway | undefined;
let hanging: Server;
const sockets: Socket[] = [];
const encryptionKey = randomBytes(32).toString('base64');
const stack = inject('stack');

beforeAll(async () => {
  await clearLivekitSip(new SipClient(stack.livekitUrl, stack.apiKey, stack.apiSecret));
  // Nothing listens on this port: connection refused.
  const closedPort = await freeTcpPort();
  down = await startTestGateway({
    encryptionKey,
    env: { LIVEKIT_URL: `http://127.0.0.1:${closedPort}` },
  });
  // Accepts connections and never answers: the per-call timeout must fire.
  hanging = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await up?.api.close();
  await down?.close();
  sockets.forEach((s) => s.destroy());
  hanging?.close();
});

const trunk = {
  trunk_id: 'while_down',
  name: 'While down',
  provider: 'generic',
  numbers: ['+15550105555'],
  allowed_addresses: ['192.0.2.55'],
  inbound_username: 'u1',
  inbound_password: 'pending-pass-1',
};

describe('LiveKit down or not answering', () => {
  it('stores a new trunk as pending and answers 503 with the reason', async () => {
    const res = await down.request('POST', '/api/trunks', trunk);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(res.body).toMatchObject({ error: 'livekit_unavailable', stored: true });
    expect(res.body.message).toMatch(/LiveKit unreachable: ECONNREFUSED/);
    const stored = await down.request('GET', '/api/trunks/while_down');
    expect(stored.status).toBe(200);
    expect(stored.body.sync.state).toBe('pending');
    expect(stored.body.sync.error).toContain('ECONNREFUSED');
    const ready = await down.request('GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database).toBe('ok');
  });

  it('a reconcile with LiveKit still down reports it and leaves the trunk pending', async () => {
    const res = await down.request('POST', '/api/reconcile');
    expect(res.status).toBe(503);
    expect(res.body.livekit_reachable).toBe(false);
    expect((await down.request('GET', '/api/trunks/while_down')).body.sync.state).toBe('pending');
  });

  it('a LiveKit that accepts but never answers times out instead of hanging', async () => {
    const address = hanging.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const slow = await startTestGateway({
      env: { LIVEKIT_URL: `http://127.0.0.1:${port}`, LIVEKIT_TIMEOUT_MS: '1000' },
    });
    try {
      const started = Date.now();
      const res = await slow.request('POST', '/api/trunks', { ...trunk, trunk_id: 'slow' });
      expect(res.status).toBe(503);
      expect(res.body.message).toContain('timed out');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await slow.close();
    }
  });

  it('once LiveKit is back, the start-up reconcile of another process writes the pending trunk', async () => {
    const gateway = await startTestGateway({ databaseUrl: down.databaseUrl, encryptionKey });
    up = gateway;
    const deadline = Date.now() + 10_000;
    let view = (await gateway.request('GET', '/api/trunks/while_down')).body;
    while (view.sync.state !== 'in_sync' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      view = (await gateway.request('GET', '/api/trunks/while_down')).body;
    }
    expect(view.sync.state).toBe('in_sync');
    const inbound = await gateway.sip.listSipInboundTrunk();
    expect(inbound.map((t) => t.sipTrunkId)).toEqual([view.sync.livekit_inbound_trunk_id]);
    expect(inbound[0]!.authUsername).toBe('u1');
  });

  it('refuses to delete a trunk it cannot remove from LiveKit, and changes nothing', async () => {
    const res = await down.request('DELETE', '/api/trunks/while_down');
    expect(res.status).toBe(503);
    expect(res.body.detail).toBe('nothing was deleted');
    expect((await down.request('GET', '/api/trunks/while_down')).status).toBe(200);
    expect(await up!.sip.listSipInboundTrunk()).toHaveLength(1);
  });
});
