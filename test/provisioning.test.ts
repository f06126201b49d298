import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIPTransport } from '@livekit/protocol';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  await clearLivekitSip(gw.sip);
});
afterAll(async () => {
  await gw?.close();
});

const novofon = {
  trunk_id: 'novofon_main',
  name: 'Novofon main',
  provider: 'novofon',
  numbers: ['+7 495 123-45-67', '8 (812) 765-43-21'],
  allowed_addresses: ['203.0.113.10', '198.51.100.0/24'],
  inbound_username: 'novofon-in',
  inbound_password: 'in-secret-123',
};

describe('trunk provisioning against the real LiveKit server', () => {
  it('creates a Novofon trunk that LiveKit lists with the same numbers, addresses and auth user', async () => {
    const created = await gw.request('POST', '/api/trunks', novofon);
    expect(created.status).toBe(201);
    expect(created.body.numbers).toEqual(['+74951234567', '+78127654321']);
    expect(created.body.sync.state).toBe('in_sync');
    expect(JSON.stringify(created.body)).not.toContain('in-secret-123');
    expect(created.body.has_inbound_password).toBe(true);

    const inbound = await gw.sip.listSipInboundTrunk();
    expect(inbound).toHaveLength(1);
    const lk = inbound[0]!;
    expect(lk.sipTrunkId).toBe(created.body.sync.livekit_inbound_trunk_id);
    // Novofon writes numbers without '+'; the trunk holds them the way the provider sends them.
    expect([...lk.numbers].sort()).toEqual(['74951234567', '78127654321']);
    expect([...lk.allowedAddresses].sort()).toEqual(['198.51.100.0/24', '203.0.113.10']);
    expect(lk.authUsername).toBe('novofon-in');
    // No outbound part was asked for, so LiveKit holds none.
    expect(await gw.sip.listSipOutboundTrunk()).toHaveLength(0);
  });

  it('stores the password encrypted and never returns it', async () => {
    const db = new pg.Client({ connectionString: gw.databaseUrl });
    await db.connect();
    const row = await db.query('SELECT * FROM trunks WHERE trunk_id = $1', ['novofon_main']);
    await db.end();
    const stored = JSON.stringify(row.rows[0]);
    expect(stored).not.toContain('in-secret-123');
    expect(row.rows[0].inbound_password_enc).toMatch(/^v1:/);
    const fetched = await gw.request('GET', '/api/trunks/novofon_main');
    expect(JSON.stringify(fetched.body)).not.toContain('in-secret-123');
    const credentials = await gw.request('GET', '/api/trunks/novofon_main/credentials');
    expect(credentials.status).toBe(200);
    expect(credentials.body.inbound.digest_username).toBe('novofon-in');
    expect(JSON.stringify(credentials.body)).not.toContain('in-secret-123');
  });

  it('follows updates: new numbers and addresses reach LiveKit under the same trunk id', async () => {
    const before = (await gw.request('GET', '/api/trunks/novofon_main')).body;
    const updated = await gw.request('PUT', '/api/trunks/novofon_main', {
      numbers: ['+74951234567', '+74959990000'],
      allowed_addresses: ['203.0.113.11'],
    });
    expect(updated.status).toBe(200);
    expect(updated.body.sync.livekit_inbound_trunk_id).toBe(before.sync.livekit_inbound_trunk_id);
    const [lk] = await gw.sip.listSipInboundTrunk();
    expect([...lk!.numbers].sort()).toEqual(['74951234567', '74959990000']);
    expect(lk!.allowedAddresses).toEqual(['203.0.113.11']);
    const numbers = await gw.request('GET', '/api/numbers?trunk_id=novofon_main');
    expect(numbers.body.items.map((n: { number: string }) => n.number)).toEqual([
      '+74951234567',
      '+74959990000',
    ]);
  });

  it('creates an outbound trunk with address, transport and auth user', async () => {
    const created = await gw.request('POST', '/api/trunks', {
      trunk_id: 'carrier_out',
      name: 'Carrier out',
      provider: 'generic',
      supports_inbound: false,
      proxy_address: 'sip.carrier.example:5080',
      transport: 'TCP',
      username: 'acct-1',
      password: 'out-secret-456',
      numbers: ['+15550100123'],
      from_host: 'gw.example.org',
    });
    expect(created.status).toBe(201);
    const [lk] = await gw.sip.listSipOutboundTrunk();
    expect(lk!.address).toBe('sip.carrier.example:5080');
    expect(lk!.transport).toBe(SIPTransport.SIP_TRANSPORT_TCP);
    expect(lk!.authUsername).toBe('acct-1');
    expect(lk!.numbers).toEqual(['+15550100123']);
    expect(lk!.fromHost).toBe('gw.example.org');
  });

  it('deactivate removes the trunk from LiveKit and activate brings it back', async () => {
    const off = await gw.request('POST', '/api/trunks/novofon_main/deactivate');
    expect(off.status).toBe(200);
    expect(off.body.status).toBe('inactive');
    expect(await gw.sip.listSipInboundTrunk()).toHaveLength(0);
    const on = await gw.request('POST', '/api/trunks/novofon_main/activate');
    expect(on.body.status).toBe('active');
    const inbound = await gw.sip.listSipInboundTrunk();
    expect(inbound.map((t) => t.sipTrunkId)).toEqual([on.body.sync.livekit_inbound_trunk_id]);
  });

  it('lists with filters and pagination, and summarises', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await gw.request('POST', '/api/trunks', {
        name: `Skyetel ${i}`,
        provider: 'skyetel',
        numbers: [`+1212555010${i}`],
        allowed_addresses: ['192.0.2.1'],
      });
      expect(res.status).toBe(201);
    }
    const page = await gw.request('GET', '/api/trunks?provider=skyetel&page=2&per_page=2');
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(3);
    expect(page.body.total_pages).toBe(2);
    expect(page.body.items).toHaveLength(1);
    const inactive = await gw.request('GET', '/api/trunks?status=inactive');
    expect(inactive.body.total).toBe(0);
    const summary = await gw.request('GET', '/api/trunks/stats/summary');
    expect(summary.body).toMatchObject({
      total: 5,
      active: 5,
      outbound: 1,
      by_provider: { skyetel: 3, novofon: 1, generic: 1 },
    });
    const status = await gw.request('GET', '/api/trunks/novofon_main/status');
    expect(status.body.livekit).toMatchObject({ reachable: true, inbound: { present: true } });
  });

  it('deletes the trunk from LiveKit and from the database', async () => {
    const id = (await gw.request('GET', '/api/trunks/novofon_main')).body.sync
      .livekit_inbound_trunk_id;
    const deleted = await gw.request('DELETE', '/api/trunks/novofon_main');
    expect(deleted.status).toBe(204);
    expect((await gw.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId)).not.toContain(id);
    expect((await gw.request('GET', '/api/trunks/novofon_main')).status).toBe(404);
    const audit = await gw.request('GET', '/api/audit?entity_type=trunk&action=trunk.delete');
    expect(audit.body.items).toHaveLength(1);
    expect(JSON.stringify(audit.body)).not.toContain('in-secret-123');
  });
});
