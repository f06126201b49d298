import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/db/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
});

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('SIP users API', () => {
  it('creates a user with the defaults, never returns or stores the password', async () => {
    const res = await gw.request('POST', '/api/sip-users', {
      username: 'alice',
      password: 'alice-secret-1',
      display_name: 'Alice Desk',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      username: 'alice',
      display_name: 'Alice Desk',
      realm: 'sip.voice-gateway.local',
      is_active: true,
      is_blocked: false,
      max_concurrent_calls: 3,
      call_recording_enabled: true,
      sms_enabled: true,
      agent_profile_id: null,
      has_password: true,
      total_calls: 0,
      failed_auth_attempts: 0,
    });
    expect(JSON.stringify(res.body)).not.toContain('alice-secret-1');
    const byName = await gw.request('GET', '/api/sip-users/alice');
    const byId = await gw.request('GET', `/api/sip-users/${res.body.id}`);
    expect(byName.body).toEqual(byId.body);
    expect(JSON.stringify(byName.body)).not.toMatch(/secret|ha1/i);

    // At rest: only the two HA1s, encrypted; neither the password nor an HA1 in the clear.
    const { db } = gw.api.database;
    const row = await db
      .selectFrom('sipUsers')
      .selectAll()
      .where('username', '=', 'alice')
      .executeTakeFirstOrThrow();
    const stored = JSON.stringify(row);
    const ha1Md5 = md5('alice:sip.voice-gateway.local:alice-secret-1');
    const ha1Sha = sha256('alice:sip.voice-gateway.local:alice-secret-1');
    expect(stored).not.toContain('alice-secret-1');
    expect(stored).not.toContain(ha1Md5);
    expect(stored).not.toContain(ha1Sha);
    const box = new SecretBox(gw.encryptionKey);
    expect(box.decrypt(row.ha1Md5Enc)).toBe(ha1Md5);
    expect(box.decrypt(row.ha1Sha256Enc)).toBe(ha1Sha);
  });

  it('refuses bad fields by name and a duplicate username', async () => {
    const bad = await gw.request('POST', '/api/sip-users', {
      username: 'bad user@x',
      password: 'short',
      max_concurrent_calls: 0,
      colour: 'blue',
    });
    expect(bad.status).toBe(400);
    const fields = bad.body.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining(['username', 'password', 'max_concurrent_calls', '(body)']),
    );
    const dup = await gw.request('POST', '/api/sip-users', {
      username: 'alice',
      password: 'another-secret',
    });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toContain('alice');
    const noProfile = await gw.request('POST', '/api/sip-users', {
      username: 'nobody-agent',
      password: 'long-enough-1',
      agent_profile_id: '00000000-0000-4000-8000-000000000000',
    });
    expect(noProfile.status).toBe(400);
    expect(noProfile.body.fields[0].field).toBe('agent_profile_id');
  });

  it('needs a new password to change the realm, and remakes both HA1s with it', async () => {
    const realmOnly = await gw.request('PUT', '/api/sip-users/alice', { realm: 'pbx.example.com' });
    expect(realmOnly.status).toBe(400);
    expect(realmOnly.body.fields[0].field).toBe('realm');
    expect(realmOnly.body.message).toMatch(/new password/);
    const both = await gw.request('PUT', '/api/sip-users/alice', {
      realm: 'pbx.example.com',
      password: 'alice-secret-2',
      max_concurrent_calls: 5,
      is_blocked: true,
    });
    expect(both.status, JSON.stringify(both.body)).toBe(200);
    expect(both.body).toMatchObject({
      realm: 'pbx.example.com',
      max_concurrent_calls: 5,
      is_blocked: true,
    });
    const row = await gw.api.database.db
      .selectFrom('sipUsers')
      .selectAll()
      .where('username', '=', 'alice')
      .executeTakeFirstOrThrow();
    expect(new SecretBox(gw.encryptionKey).decrypt(row.ha1Sha256Enc)).toBe(
      sha256('alice:pbx.example.com:alice-secret-2'),
    );
  });

  it('gives a phone its settings without the password', async () => {
    const res = await gw.request('GET', '/api/sip-users/alice/credentials');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      username: 'alice',
      realm: 'pbx.example.com',
      sip_domain: 'sip.voice-gateway.local',
      proxy_port: expect.any(Number),
      transports: ['udp', 'tcp'],
      registration_expires: 3600,
    });
    expect(JSON.stringify(res.body)).not.toContain('alice-secret');
  });

  it('lets only admins change users; viewers may read', async () => {
    const viewer = await gw.keyFor('viewer');
    const operator = await gw.keyFor('operator');
    expect((await gw.request('GET', '/api/sip-users', undefined, viewer)).status).toBe(200);
    for (const key of [viewer, operator]) {
      const create = await gw.request(
        'POST',
        '/api/sip-users',
        { username: 'mallory', password: 'mallory-pass-1' },
        key,
      );
      expect(create.status).toBe(403);
      expect((await gw.request('DELETE', '/api/sip-users/alice', undefined, key)).status).toBe(403);
      expect(
        (await gw.request('PUT', '/api/sip-users/alice', { is_blocked: false }, key)).status,
      ).toBe(403);
    }
    expect((await gw.request('GET', '/api/sip-users', undefined, null)).status).toBe(401);
    expect((await gw.request('GET', '/api/sip-users/mallory')).status).toBe(404);
  });

  it('bulk-creates 1,000 users at once, or none when one row is bad', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      username: `bulk${String(i).padStart(4, '0')}`,
      password: `bulk-password-${i}`,
      display_name: `Bulk ${i}`,
    }));
    const broken = rows.map((r) => ({ ...r }));
    broken[17] = { ...broken[17]!, password: 'x' };
    broken[500] = { ...broken[500]!, username: 'alice' };
    broken[999] = { ...broken[999]!, username: broken[3]!.username };
    const refused = await gw.request('POST', '/api/sip-users/bulk-create', broken);
    expect(refused.status).toBe(400);
    const named = refused.body.fields.map((f: { field: string }) => f.field);
    expect(named).toEqual(['17.password', '500.username', '999.username']);
    const count = async () =>
      (await gw.request('GET', '/api/sip-users?search=bulk&per_page=1')).body.total;
    expect(await count()).toBe(0);

    const started = Date.now();
    const created = await gw.request('POST', '/api/sip-users/bulk-create', rows);
    const ms = Date.now() - started;
    expect(created.status, JSON.stringify(created.body).slice(0, 500)).toBe(201);
    expect(created.body.created).toBe(1000);
    expect(ms).toBeLessThan(20_000);
    console.log(`bulk-create of 1,000 SIP users: ${ms} ms`);
    expect(await count()).toBe(1000);
  });

  it('pages and searches like the spec', async () => {
    const page = await gw.request('GET', '/api/sip-users?page=3&per_page=50&search=bulk');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 1000, page: 3, per_page: 50 });
    expect(page.body.users).toHaveLength(50);
    expect(page.body.users[0].username).toBe('bulk0100');
    const byDisplay = await gw.request('GET', '/api/sip-users?search=Bulk%20999');
    expect(byDisplay.body.users.map((u: { username: string }) => u.username)).toEqual(['bulk0999']);
    const active = await gw.request('GET', '/api/sip-users?active_only=true&search=alice');
    expect(active.body.total).toBe(0);
    const wrong = await gw.request('GET', '/api/sip-users?per_page=100000');
    expect(wrong.status).toBe(400);
    expect(wrong.body.fields[0].field).toBe('per_page');
  });

  it('deletes a user', async () => {
    expect((await gw.request('DELETE', '/api/sip-users/bulk0001')).status).toBe(204);
    expect((await gw.request('GET', '/api/sip-users/bulk0001')).status).toBe(404);
    const stats = await gw.request('GET', '/api/sip-users/bulk0002/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ active_calls: 0, registration_status: 'unregistered' });
  });
});
