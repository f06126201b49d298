import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RoomServiceClient } from 'livekit-server-sdk';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { freePortBlock } from '../scripts/stack/ports.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { startProvider, type Provider } from './helpers/provider-registrar.js';
import { runSipp, sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
const PROVIDER_IP = '127.0.0.3';
const DID = '+15557770001';
const SHA_PROVIDER_IP = '127.0.0.4';
const SHA_DID = '+15557770002';
const CIDR_DID = '+15557770003';

let edge: EdgeProcess;
let provider: Provider;
let gw: TestGateway;

async function regDump(e: EdgeProcess): Promise<{ l_uuid: string }[]> {
  return e.rpc.call<{ l_uuid: string }[]>('uac.reg_dump');
}

async function registration(trunk = 'novofon_edge') {
  return (await gw.request('GET', `/api/trunks/${trunk}/status`)).body.registration;
}

/** Polls the trunk's registration until `match` holds; returns the last one seen. */
async function registrationWhere(
  match: (r: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
  trunk = 'novofon_edge',
): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  await eventually(async () => {
    last = await registration(trunk);
    return match(last) ? true : undefined;
  }, timeoutMs);
  return last;
}

/** A call from the PSTN (sipp) to the provider's DID; resolves with the room LiveKit made. */
async function callThroughProvider(prefix: string, via: Provider = provider) {
  const before = new Set((await rooms.listRooms()).map((r) => r.name));
  const call = sippCall({
    host: via.options.ip,
    port: via.options.port,
    number: via.options.did,
    timeoutSeconds: 15,
  });
  try {
    const found = await eventually(async () => {
      const room = (await rooms.listRooms()).find(
        (r) => r.name.startsWith(prefix) && !before.has(r.name),
      );
      if (!room) return undefined;
      const participants = await rooms.listParticipants(room.name);
      const caller = participants.find((p) => p.attributes['sip.trunkPhoneNumber']);
      return caller ? { room, caller } : undefined;
    }, 12_000);
    return { room: found?.room, caller: found?.caller };
  } finally {
    call.stop();
    await call.done;
  }
}

/**
 * An INVITE to a registration contact (the request URI's user) for `did` (in To), sent to the
 * edge from `source`, as the provider's call would come: test/sipp/uac-refused.xml expecting
 * `status`, or uac-ring-cancel.xml when it should ring (LiveKit made a room).
 */
async function contactCall(
  source: string,
  contactUser: string,
  did: string,
  expect: { status: number } | 'rings',
) {
  const scenarios = path.join(path.dirname(new URL(import.meta.url).pathname), 'sipp');
  const name = expect === 'rings' ? 'uac-ring-cancel' : 'uac-refused';
  const text = readFileSync(path.join(scenarios, `${name}.xml`), 'utf8')
    .replaceAll(
      'sip:[service]@[remote_ip]:[remote_port] SIP/2.0',
      `sip:${contactUser}@[remote_ip]:[remote_port] SIP/2.0`,
    )
    .replaceAll('[status]', expect === 'rings' ? '' : String(expect.status))
    .replaceAll('[hold_ms]', '500');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-'));
  writeFileSync(path.join(dir, 'scenario.xml'), text);
  const run = runSipp(
    [
      `127.0.0.1:${edge.sipPort}`,
      '-sf',
      path.join(dir, 'scenario.xml'),
      '-s',
      did,
      '-key',
      'caller',
      '+15557779999',
      '-i',
      source,
      '-p',
      '0',
      '-m',
      '1',
      '-timeout',
      '15s',
      '-timeout_error',
      '-nostdin',
      '-trace_err',
    ],
    dir,
  );
  return run.done;
}

beforeAll(async () => {
  edge = await startEdge({
    livekitHost: stack.sipHost,
    livekitPort: stack.sipPort,
    regTimerInterval: 2,
    transactionTimeoutMs: 2000,
  });
  provider = await startProvider({
    ip: PROVIDER_IP,
    port: await freePortBlock(1),
    account: 'acct1',
    password: 'right-secret',
    did: DID,
    realm: 'provider.test',
  });
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      EDGE_SOURCE_ADDRESS: '127.0.0.1',
      EDGE_POLL_SECONDS: '0.5',
      EDGE_RETRY_BASE_SECONDS: '1',
      EDGE_RETRY_MAX_SECONDS: '2',
      EDGE_INSTANCE_ID: 'gw-a',
    },
  });
  await clearLivekitSip(gw.sip);
});

afterAll(async () => {
  await gw?.close();
  await provider?.stop();
  await edge?.stop();
});

describe('SIP edge registration', () => {
  it('refuses register=true without the account or a registrar, naming each field', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      name: 'Half configured',
      provider: 'generic',
      supports_outbound: false,
      allowed_addresses: [PROVIDER_IP],
      register: true,
      register_expiry: 5,
    });
    expect(res.status).toBe(400);
    const fields = res.body.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['register_expiry']));
    const second = await gw.request('POST', '/api/trunks', {
      name: 'Half configured',
      provider: 'generic',
      supports_outbound: false,
      allowed_addresses: [PROVIDER_IP],
      register: true,
      registrar: 'sip:acct@example.com',
    });
    expect(second.status).toBe(400);
    expect(second.body.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(['registrar', 'username']),
    );
    expect(second.body.message).toContain('not a SIP URI');
  });

  it('registers a trunk with the provider and shows it registered, without its password', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: 'novofon_edge',
      name: 'Novofon via edge',
      provider: 'generic',
      supports_outbound: false,
      numbers: [DID],
      allowed_addresses: [PROVIDER_IP],
      register: true,
      registrar: `${PROVIDER_IP}:${provider.options.port}`,
      username: 'acct1',
      password: 'right-secret',
      realm: 'provider.test',
      register_expiry: 20,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ register: true, register_expiry: 20, has_password: true });
    expect(JSON.stringify(res.body)).not.toContain('right-secret');

    const credentials = await gw.request('GET', '/api/trunks/novofon_edge/credentials');
    expect(credentials.body.registration).toMatchObject({
      registrar: `${PROVIDER_IP}:${provider.options.port}`,
      username: 'acct1',
      contact_user: 'vgreg-novofon_edge',
    });
    expect(JSON.stringify(credentials.body)).not.toContain('right-secret');

    const reg = await registrationWhere((r) => r.state === 'registered');
    expect(reg).toMatchObject({ state: 'registered', last_code: 200, failures: 0 });
    expect(Date.parse(String(reg.expires_at))).toBeGreaterThan(Date.now());

    const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(metrics).toContain(
      'voice_gateway_trunk_registration_state{trunk_id="novofon_edge",state="registered"} 1',
    );
    // LiveKit sees the edge's address, so the trunk there allows it besides the provider's.
    const [inbound] = await gw.sip.listSipInboundTrunk();
    expect(inbound!.allowedAddresses).toEqual(['127.0.0.1', PROVIDER_IP]);
  });

  it('delivers the provider INVITE to the registered contact to LiveKit, matching the trunk', async () => {
    const rule = await gw.request('POST', '/api/dispatch-rules', {
      name: 'edge-calls',
      type: 'individual',
      room_prefix: 'edge-',
      trunk_ids: ['novofon_edge'],
    });
    expect(rule.status).toBe(201);
    const trunk = (await gw.request('GET', '/api/trunks/novofon_edge')).body;
    const { room, caller } = await callThroughProvider('edge-');
    expect(room, 'LiveKit made no room for the call through the edge').toBeDefined();
    expect(caller?.attributes['sip.trunkPhoneNumber']).toBe(DID);
    expect(caller?.attributes['sip.trunkID']).toBe(trunk.sync.livekit_inbound_trunk_id);
  });

  it('registers again after the registrar restarts and forgets it, and calls arrive again', async () => {
    const before = Date.parse(String((await registration()).last_response_at));
    await provider.restart();
    const restartedAt = Date.now();
    const reg = await registrationWhere(
      (r) =>
        r.state === 'registered' &&
        Date.parse(String(r.last_response_at)) >= Math.max(before + 1000, restartedAt - 1000),
      40_000,
    );
    expect(reg.state).toBe('registered');
    const { room } = await callThroughProvider('edge-');
    expect(room, 'no call reached LiveKit after the registrar restarted').toBeDefined();
  });

  it('registers again after the edge itself restarts', async () => {
    const { sipPort, settings } = edge;
    await edge.stop();
    await eventually(
      async () => ((await registration()).state !== 'registered' ? true : undefined),
      10_000,
    );
    edge = await startEdge({
      ...settings,
      sipPort,
      livekitHost: stack.sipHost,
      livekitPort: stack.sipPort,
    });
    const reg = await registrationWhere((r) => r.state === 'registered', 20_000);
    expect(reg.last_code).toBe(200);
  });

  it('a wrong password fails with 401, and the status, diagnosis and a webhook event say so', async () => {
    const put = await gw.request('PUT', '/api/trunks/novofon_edge', { password: 'wrong-secret' });
    expect(put.status).toBe(200);
    const reg = await registrationWhere((r) => r.state === 'failing' && r.last_code === 401);
    expect(reg.cause).toContain('wrong password');
    expect(Number(reg.failures)).toBeGreaterThanOrEqual(1);
    expect(reg.next_attempt_at).toBeTruthy();
    // Retried after the backoff (1 s, then 2 s here), failing again each time.
    const retried = await registrationWhere((r) => Number(r.failures) >= 3, 15_000);
    expect(Number(retried.failures)).toBeGreaterThanOrEqual(3);

    const diagnosis = await gw.request('GET', '/api/diagnostics/registration');
    expect(diagnosis.status).toBe(200);
    const finding = diagnosis.body.findings.find(
      (f: { check: string }) => f.check === 'registration.novofon_edge',
    );
    expect(finding).toMatchObject({ status: 'fail' });
    expect(finding.cause).toContain('wrong password');
    expect(finding.evidence).toContain('401');

    const client = new pg.Client({ connectionString: gw.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ payload: { data: Record<string, unknown> } }>(
        `SELECT payload FROM webhook_messages WHERE event_type = 'trunk.registration_failed'`,
      );
      expect(rows.map((r) => r.payload.data)).toContainEqual(
        expect.objectContaining({ trunk_id: 'novofon_edge', last_code: 401 }),
      );
    } finally {
      await client.end();
    }
  });

  it('an unknown user gets 403 and the diagnosis names user, realm or inactive account', async () => {
    await gw.request('PUT', '/api/trunks/novofon_edge', {
      username: 'nobody',
      password: 'right-secret',
    });
    const reg = await registrationWhere((r) => r.state === 'failing' && r.last_code === 403);
    expect(reg.cause).toContain('unknown user');
    expect(reg.fix).toContain('realm');
  });

  it('a registrar that does not answer is reported as a timeout', async () => {
    await gw.request('PUT', '/api/trunks/novofon_edge', {
      username: 'acct1',
      registrar: `${PROVIDER_IP}:${await freePortBlock(1)}`,
    });
    const reg = await registrationWhere((r) => r.state === 'failing' && r.last_code === 408);
    expect(reg.cause).toContain('did not answer');
  });

  it('fixing the account registers again at once', async () => {
    await gw.request('PUT', '/api/trunks/novofon_edge', {
      username: 'acct1',
      registrar: `${PROVIDER_IP}:${provider.options.port}`,
    });
    const reg = await registrationWhere((r) => r.state === 'registered', 20_000);
    expect(reg).toMatchObject({ last_code: 200, failures: 0 });
    const diagnosis = await gw.request('GET', '/api/diagnostics/registration');
    expect(diagnosis.body.status).toBe('pass');
  });

  it('a deactivated trunk is unregistered from the edge and shows disabled', async () => {
    await gw.request('POST', '/api/trunks/novofon_edge/deactivate');
    const reg = await registrationWhere((r) => r.state === 'disabled');
    expect(reg.state).toBe('disabled');
    const records = await eventually(async () => {
      const dump = await regDump(edge);
      return dump.length === 0 ? dump : undefined;
    });
    expect(records).toEqual([]);
  });

  it('registers with a registrar that challenges with SHA-256 only, and its calls arrive', async () => {
    // Kamailio 5.6's uac answers MD5 only: the gateway sends these REGISTERs itself, relayed by
    // the edge so that they leave from (and calls come back to) the edge's SIP address.
    const sha = await startProvider({
      ip: SHA_PROVIDER_IP,
      port: await freePortBlock(1),
      account: 'acct2',
      password: 'sha-secret',
      did: SHA_DID,
      realm: 'sha.provider.test',
      algorithm: 'SHA-256',
    });
    try {
      const trunk = {
        trunk_id: 'sha_edge',
        name: 'SHA-256 registrar via edge',
        provider: 'generic',
        supports_outbound: false,
        numbers: [SHA_DID],
        allowed_addresses: [SHA_PROVIDER_IP],
        register: true,
        registrar: `${SHA_PROVIDER_IP}:${sha.options.port}`,
        username: 'acct2',
        password: 'sha-secret',
        realm: 'sha.provider.test',
        register_expiry: 20,
        register_algorithm: 'SHA-256',
      };
      const res = await gw.request('POST', '/api/trunks', trunk);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.register_algorithm).toBe('SHA-256');
      const reg = await registrationWhere((r) => r.state === 'registered', 20_000, 'sha_edge');
      expect(reg).toMatchObject({ last_code: 200, failures: 0 });
      expect(Date.parse(String(reg.expires_at))).toBeGreaterThan(Date.now() + 10_000);
      // The edge's uac holds no record for it: the gateway registers it.
      expect((await regDump(edge)).map((r) => r.l_uuid)).not.toContain(res.body.id);

      await gw.request('POST', '/api/dispatch-rules', {
        name: 'sha-calls',
        type: 'individual',
        room_prefix: 'sha-',
        trunk_ids: ['sha_edge'],
      });
      const { room, caller } = await callThroughProvider('sha-', sha);
      expect(room, 'LiveKit made no room for the call to the SHA-256 registration').toBeDefined();
      expect(caller?.attributes['sip.trunkPhoneNumber']).toBe(SHA_DID);

      // Refreshed before the 20 s it was granted run out.
      const first = Date.parse(String(reg.last_response_at));
      const refreshed = await registrationWhere(
        (r) => r.state === 'registered' && Date.parse(String(r.last_response_at)) > first,
        20_000,
        'sha_edge',
      );
      expect(refreshed.failures).toBe(0);

      // The same account with MD5 (the edge's uac) is refused: the algorithm is why.
      await gw.request('PUT', '/api/trunks/sha_edge', { register_algorithm: 'MD5' });
      await registrationWhere(
        (r) => r.state === 'failing' && r.last_code === 401,
        20_000,
        'sha_edge',
      );
      // A wrong password with SHA-256 fails with 401 too, and backs off.
      await gw.request('PUT', '/api/trunks/sha_edge', {
        register_algorithm: 'SHA-256',
        password: 'wrong',
      });
      const wrong = await registrationWhere(
        (r) => r.state === 'failing' && r.last_code === 401 && r.next_attempt_at !== null,
        20_000,
        'sha_edge',
      );
      expect(String(wrong.cause)).toContain('wrong password');
      await gw.request('PUT', '/api/trunks/sha_edge', { password: 'sha-secret' });
      await registrationWhere((r) => r.state === 'registered', 20_000, 'sha_edge');
      const bad = await gw.request('PUT', '/api/trunks/sha_edge', { register_algorithm: 'SHA-1' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('register_algorithm');
    } finally {
      await gw.request('POST', '/api/trunks/sha_edge/deactivate');
      await sha.stop();
    }
  });

  it('takes calls to a registration contact only from the provider: its addresses and CIDR ranges', async () => {
    // The provider's calls may come from other machines than its registrar: a range allows them.
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: 'cidr_edge',
      name: 'Provider with a signalling range',
      provider: 'generic',
      supports_outbound: false,
      numbers: [CIDR_DID],
      allowed_addresses: ['127.0.0.8/30'],
      register: true,
      registrar: `${PROVIDER_IP}:${provider.options.port}`,
      username: 'acct1',
      password: 'right-secret',
      realm: 'provider.test',
      register_expiry: 20,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    try {
      await registrationWhere((r) => r.state === 'registered', 20_000, 'cidr_edge');
      const rule = await gw.request('POST', '/api/dispatch-rules', {
        name: 'cidr-calls',
        type: 'individual',
        room_prefix: 'cidr-',
        trunk_ids: ['cidr_edge'],
      });
      expect(rule.status, JSON.stringify(rule.body)).toBe(201);
      // 127.0.0.10 is inside 127.0.0.8/30: the call reaches LiveKit and rings.
      const inside = await eventually(async () => {
        const r = await contactCall('127.0.0.10', 'vgreg-cidr_edge', CIDR_DID, 'rings');
        return r.code === 0 ? r : undefined;
      }, 15_000);
      expect(inside?.code).toBe(0);
      // 127.0.0.13 is not, nor is it the registrar: the edge refuses it.
      const outside = await contactCall('127.0.0.13', 'vgreg-cidr_edge', CIDR_DID, { status: 403 });
      expect(outside.code, outside.stderr).toBe(0);
      // uac registers the trunk's uuid as the contact user: the same check holds for it.
      const viaUuid = await contactCall('127.0.0.13', res.body.id, CIDR_DID, { status: 403 });
      expect(viaUuid.code, viaUuid.stderr).toBe(0);
      // Nor straight to the number: LiveKit admits the edge's address for a registering trunk.
      const direct = await contactCall('127.0.0.13', CIDR_DID, CIDR_DID, { status: 403 });
      expect(direct.code, direct.stderr).toBe(0);
    } finally {
      await gw.request('POST', '/api/trunks/cidr_edge/deactivate');
    }
  });

  it('with two gateway instances on one database, exactly one registers the trunk', async () => {
    const edgeB = await startEdge({
      livekitHost: stack.sipHost,
      livekitPort: stack.sipPort,
      regTimerInterval: 2,
    });
    const gwB = await startTestGateway({
      databaseUrl: gw.databaseUrl,
      encryptionKey: gw.encryptionKey,
      env: {
        ...edgeEnv(edgeB),
        EDGE_POLL_SECONDS: '0.5',
        EDGE_INSTANCE_ID: 'gw-b',
      },
    });
    const dump = async (e: EdgeProcess) => (await regDump(e)).map((r) => r.l_uuid);
    try {
      await gw.request('POST', '/api/trunks/novofon_edge/activate');
      const first = await registrationWhere((r) => r.state === 'registered');
      const owner = first.instance === 'gw-a' ? edge : edgeB;
      const other = owner === edge ? edgeB : edge;
      for (let i = 0; i < 4; i += 1) {
        expect(await dump(owner)).toHaveLength(1);
        expect(await dump(other)).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // The owner's supervisor stops (as when its process dies, its database session ends and
      // the lock is free): the other instance registers the trunk through its own edge.
      const survivor = first.instance === 'gw-a' ? 'gw-b' : 'gw-a';
      await (first.instance === 'gw-a' ? gw : gwB).api.edge!.stop();
      const reg = await registrationWhere(
        (r) => r.state === 'registered' && r.instance === survivor,
      );
      expect(reg).toMatchObject({ state: 'registered', instance: survivor });
      expect(await dump(other)).toHaveLength(1);
      expect(await dump(owner)).toEqual([]);
    } finally {
      await gwB.api.close();
      await edgeB.stop();
    }
  });
});
