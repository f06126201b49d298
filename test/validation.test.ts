import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const fieldsOf = (body: { fields?: { field: string }[] }) =>
  (body.fields ?? []).map((f) => f.field).sort();

describe('bad input gets a clear error naming what was wrong', () => {
  it('names each bad field of a trunk at once', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      name: 'Bad',
      provider: 'generic',
      numbers: ['+7495', 'call me'],
      allowed_addresses: ['10.0.0.5/24', 'not-an-ip'],
    });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual([
      'allowed_addresses.0',
      'allowed_addresses.1',
      'numbers.0',
      'numbers.1',
    ]);
    expect(res.body.message).toContain('did you mean 10.0.0.0/24');
    expect(res.body.message).toContain('not a phone number');
  });

  it('names an unknown provider, a bad transport, a SIP URI as proxy and an unknown field', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      name: 'x',
      provider: 'vonage',
      transport: 'sctp',
      proxy_address: 'sip:user@carrier.example',
      colour: 'blue',
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/provider: unknown provider "vonage"/);
    expect(fieldsOf(res.body)).toEqual(expect.arrayContaining(['provider', 'transport']));
    expect(res.body.message).toContain('colour');
    const proxy = await gw.request('POST', '/api/trunks', {
      name: 'x',
      provider: 'generic',
      supports_inbound: false,
      proxy_address: 'sip:user@carrier.example',
    });
    expect(proxy.status).toBe(400);
    expect(fieldsOf(proxy.body)).toEqual(['proxy_address']);
    expect(proxy.body.message).toContain('not a SIP URI');
  });

  it('refuses an inbound trunk open to any source', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      name: 'open',
      provider: 'generic',
      numbers: ['+15550103333'],
    });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['allowed_addresses']);
    expect(res.body.message).toContain('any host could send calls');
  });

  it('answers 409 for a duplicate trunk_id or a number on another trunk, and stores nothing', async () => {
    const body = {
      trunk_id: 'dup',
      name: 'Dup',
      provider: 'generic',
      numbers: ['+15550104444'],
      allowed_addresses: ['192.0.2.4'],
    };
    expect((await gw.request('POST', '/api/trunks', body)).status).toBe(201);
    const again = await gw.request('POST', '/api/trunks', body);
    expect(again.status).toBe(409);
    const number = await gw.request('POST', '/api/trunks', { ...body, trunk_id: 'dup2' });
    expect(number.status).toBe(409);
    expect(number.body.message).toContain('+15550104444 (dup)');
    expect((await gw.request('GET', '/api/trunks/dup2')).status).toBe(404);
    await gw.request('DELETE', '/api/trunks/dup');
  });

  it('answers 404 for unknown ids', async () => {
    expect((await gw.request('GET', '/api/trunks/nope')).status).toBe(404);
    expect(
      (await gw.request('PUT', '/api/trunks/00000000-0000-0000-0000-000000000000', { name: 'x' }))
        .status,
    ).toBe(404);
    expect((await gw.request('DELETE', '/api/dispatch-rules/nope')).status).toBe(404);
    expect((await gw.request('GET', '/api/numbers/+15559999999')).status).toBe(404);
  });

  it('answers 400 for malformed JSON and 413 for an oversized body', async () => {
    const bad = await gw.request('POST', '/api/trunks', '{"name": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_json');
    const huge = await gw.request('POST', '/api/trunks', {
      name: 'x'.repeat(400_000),
      provider: 'generic',
    });
    expect(huge.status).toBe(413);
  });

  it('validates list queries', async () => {
    const res = await gw.request('GET', '/api/trunks?per_page=1000&status=sleeping');
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['per_page', 'status']);
  });
});

describe('authentication and roles', () => {
  it('answers 401 without a key, with a wrong key, and with a revoked key', async () => {
    expect((await gw.request('GET', '/api/trunks', undefined, null)).status).toBe(401);
    expect(
      (await gw.request('GET', '/api/trunks', undefined, 'vgk_aaaaaaaaaaaa_' + 'b'.repeat(43)))
        .status,
    ).toBe(401);
    const created = await gw.request('POST', '/api/keys', { name: 'temp', role: 'viewer' });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^vgk_/);
    expect((await gw.request('GET', '/api/trunks', undefined, created.body.key)).status).toBe(200);
    expect((await gw.request('DELETE', `/api/keys/${created.body.prefix}`)).status).toBe(204);
    expect((await gw.request('GET', '/api/trunks', undefined, created.body.key)).status).toBe(401);
  });

  it('never returns or stores a key in the clear', async () => {
    const created = await gw.request('POST', '/api/keys', { name: 'kept', role: 'operator' });
    const listed = await gw.request('GET', '/api/keys');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    const row = await gw.api.database.db
      .selectFrom('apiKeys')
      .selectAll()
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    // The secret is everything after vgk_<prefix>_ (base64url: it may itself contain '_').
    const secret = (created.body.key as string).slice('vgk_'.length + 12 + 1);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('answers 403 when the role is too weak, naming the role needed', async () => {
    const viewer = await gw.keyFor('viewer');
    const operator = await gw.keyFor('operator');
    expect((await gw.request('GET', '/api/trunks', undefined, viewer)).status).toBe(200);
    const denied = await gw.request(
      'POST',
      '/api/trunks',
      { name: 'x', provider: 'generic' },
      viewer,
    );
    expect(denied.status).toBe(403);
    expect(denied.body.message).toContain('admin');
    expect(
      (await gw.request('GET', '/api/trunks/nope/credentials', undefined, viewer)).status,
    ).toBe(403);
    expect(
      (await gw.request('POST', '/api/keys', { name: 'y', role: 'admin' }, operator)).status,
    ).toBe(403);
  });
});
