import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RoomServiceClient } from 'livekit-server-sdk';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { inviteWithDigest, optionsFrom } from './helpers/sip-uac.js';
import { sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
const DIRECT_DID = '+15557771001';
const AUTH_DID = '+15557771002';
const PROVIDER_DID = '+15557771003';
const PROVIDER_IP = '127.0.0.9';
const ATTACKER_IP = '127.0.0.3';
const REAL_USER_IP = '127.0.0.5';
const registerFlood = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'helpers',
  'sipp-scenarios',
  'register-flood.xml',
);

let edge: EdgeProcess;
let gw: TestGateway;

/** sipp sending `calls` requests at `rate`/s from `source` to the edge; stops by itself. */
function flood(source: string, rate: number, calls: number, scenario: string[]) {
  const child = spawn(
    'sipp',
    [
      ...scenario,
      `127.0.0.1:${edge.sipPort}`,
      '-s',
      '+15559990000',
      '-i',
      source,
      '-p',
      '0',
      '-r',
      String(rate),
      '-m',
      String(calls),
      '-timeout',
      '8s',
      '-nostdin',
      '-recv_timeout',
      '1000',
    ],
    { cwd: mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-')), stdio: 'ignore' },
  );
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

async function bannedSources(): Promise<string[]> {
  const res = await gw.request('GET', '/api/edge/bans');
  expect(res.status).toBe(200);
  return res.body.items.map((b: { source: string }) => b.source);
}

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      EDGE_POLL_SECONDS: '0.5',
    },
  });
  await clearLivekitSip(gw.sip);
  const direct = await gw.request('POST', '/api/trunks', {
    trunk_id: 'edge_direct',
    name: 'Calls relayed by the edge',
    provider: 'generic',
    numbers: [DIRECT_DID],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(direct.status, JSON.stringify(direct.body)).toBe(201);
  const withAuth = await gw.request('POST', '/api/trunks', {
    trunk_id: 'bf_trunk',
    name: 'Digest-authenticated inbound',
    provider: 'generic',
    numbers: [AUTH_DID],
    inbound_username: 'bf-user',
    inbound_password: 'right-password-1',
  });
  expect(withAuth.status, JSON.stringify(withAuth.body)).toBe(201);
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: 'protected-calls',
    type: 'individual',
    room_prefix: 'prot-',
    trunk_ids: ['edge_direct', 'bf_trunk'],
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
});

afterAll(async () => {
  await gw?.close();
  await edge?.stop();
});

describe('SIP edge protection', () => {
  it('drops known scanner user agents without an answer', async () => {
    const at = { host: '127.0.0.1', port: edge.sipPort, localHost: '127.0.0.4' };
    for (const userAgent of [
      'friendly-scanner',
      'sipvicious 0.3.4',
      'VaxSIPUserAgent/3.1',
      'sipcli/v1.8',
    ]) {
      expect(await optionsFrom({ ...at, userAgent }), userAgent).toBe(0);
    }
    expect(await optionsFrom({ ...at, userAgent: 'Novofon PBX' })).toBe(200);
    await gw.api.edge!.pollNow();
    const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(metrics).toMatch(/voice_gateway_edge_events\{kind="scanner_dropped"\} [4-9]/);
  });

  it("bans a source flooding INVITEs while another source's call still connects", async () => {
    const flooding = flood('127.0.0.2', 200, 400, ['-sn', 'uac']);
    const before = new Set((await rooms.listRooms()).map((r) => r.name));
    const call = sippCall({
      host: '127.0.0.1',
      port: edge.sipPort,
      number: DIRECT_DID,
      timeoutSeconds: 15,
    });
    try {
      const room = await eventually(async () => {
        const found = (await rooms.listRooms()).find(
          (r) => r.name.startsWith('prot-') && !before.has(r.name),
        );
        if (!found) return undefined;
        const participants = await rooms.listParticipants(found.name);
        return participants.some((p) => p.attributes['sip.trunkPhoneNumber'] === DIRECT_DID)
          ? found
          : undefined;
      }, 12_000);
      expect(room, 'the call from 127.0.0.1 did not reach LiveKit during the flood').toBeDefined();
    } finally {
      call.stop();
      await call.done;
    }
    await flooding;
    expect(await bannedSources()).toContain('127.0.0.2');
    const probe = { host: '127.0.0.1', port: edge.sipPort, userAgent: 'probe' };
    expect(await optionsFrom({ ...probe, localHost: '127.0.0.2' })).toBe(0);
    expect(await optionsFrom({ ...probe, localHost: '127.0.0.1' })).toBe(200);
  });

  it('bans a source flooding REGISTERs (challenged with 401 until then)', async () => {
    expect(await bannedSources()).not.toContain('127.0.0.6');
    await flood('127.0.0.6', 200, 300, ['-sf', registerFlood]);
    expect(await bannedSources()).toContain('127.0.0.6');
    await gw.api.edge!.pollNow();
    const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(metrics).toMatch(/voice_gateway_edge_active\{kind="banned_sources"\} [2-9]/);
  });

  it("never bans a provider's address for its own traffic: above a rate it gets 503", async () => {
    // Over UDP anyone can send with a provider's address: a ban would cut the provider off.
    const trunk = await gw.request('POST', '/api/trunks', {
      trunk_id: 'spoofed_provider',
      name: 'A provider whose address an attacker spoofs',
      provider: 'generic',
      numbers: [PROVIDER_DID],
      allowed_addresses: ['127.0.0.1', PROVIDER_IP],
    });
    expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
    await gw.api.edge!.syncAdmission();
    await flood(PROVIDER_IP, 200, 400, ['-sn', 'uac']);
    expect(await bannedSources()).not.toContain(PROVIDER_IP);
    await gw.api.edge!.pollNow();
    const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(metrics).toMatch(/voice_gateway_edge_events\{kind="provider_limited"\} [1-9]/);
    // Once the burst is over, the provider is answered as before.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const probe = { host: '127.0.0.1', port: edge.sipPort, userAgent: 'probe' };
    expect(await optionsFrom({ ...probe, localHost: PROVIDER_IP })).toBe(200);
  });

  it('locks a SIP user after five failed digest attempts until an operator unlocks it', async () => {
    const attempt = (password: string) =>
      inviteWithDigest({
        host: '127.0.0.1',
        port: edge.sipPort,
        number: AUTH_DID,
        username: 'bf-user',
        password,
        localHost: '127.0.0.7',
      });
    const codes: number[] = [];
    for (let i = 0; i < 6; i += 1) codes.push(await attempt(`wrong-password-${i}`));
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes[5]).toBe(403);
    expect(await attempt('right-password-1')).toBe(403);

    const locks = await gw.request('GET', '/api/edge/lockouts');
    expect(locks.body.items).toEqual([expect.objectContaining({ sip_user: 'bf-user' })]);
    const viewer = await gw.keyFor('viewer');
    expect(
      (await gw.request('POST', '/api/trunks/bf_trunk/unlock', undefined, viewer)).status,
    ).toBe(403);
    const unlock = await gw.request('POST', '/api/trunks/bf_trunk/unlock');
    expect(unlock.status, JSON.stringify(unlock.body)).toBe(200);
    expect(unlock.body.unlocked).toEqual(['bf-user']);
    const audit = await gw.request('GET', '/api/audit?action=edge.unlock');
    expect(audit.body.items[0]).toMatchObject({ action: 'edge.unlock', entity_type: 'trunk' });

    // Accepted: LiveKit rings (it answers once an agent subscribes).
    expect(await attempt('right-password-1')).toBe(180);
    expect((await gw.request('GET', '/api/edge/lockouts')).body.items).toEqual([]);
  });

  it('a lockout holds for the source that failed: the real user elsewhere still gets in', async () => {
    const attempt = (password: string, localHost: string) =>
      inviteWithDigest({
        host: '127.0.0.1',
        port: edge.sipPort,
        number: AUTH_DID,
        username: 'bf-user',
        password,
        localHost,
      });
    const codes: number[] = [];
    for (let i = 0; i < 6; i += 1) codes.push(await attempt(`guess-${i}`, ATTACKER_IP));
    expect(codes).toEqual([401, 401, 401, 401, 401, 403]);
    expect(await attempt('right-password-1', REAL_USER_IP)).toBe(180);
    expect((await gw.request('GET', '/api/edge/lockouts')).body.items).toEqual([
      expect.objectContaining({ sip_user: 'bf-user', source: ATTACKER_IP }),
    ]);
    expect(await attempt('right-password-1', ATTACKER_IP)).toBe(403);
    const unlock = await gw.request('POST', '/api/edge/lockouts/bf-user/unlock');
    expect(unlock.body.unlocked).toEqual(['bf-user']);
    expect((await gw.request('GET', '/api/edge/lockouts')).body.items).toEqual([]);
  });
});
