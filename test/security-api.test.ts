import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { RoomServiceClient, TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { profileSettingsSchema } from '../src/agent/profile.js';
import { packageRoot } from '../src/config/paths.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';
import { DeepgramStandin } from './standins/deepgram.js';
import { OpenaiStandin } from './standins/openai.js';

// The API-side doors of issue 13, each tried as an attacker would on the real stack: a real API,
// real LiveKit and LiveKit SIP, sipp as the phone, a real agent worker, PostgreSQL.

const stack = inject('stack');
const AGENT = 'security-api-test';
const ROOM_NUMBER = '+15551270001';
const SECRET_NUMBER = '+15551270002';
/** A direct dispatch rule's room: every call to ROOM_NUMBER lands in it. */
const CALL_ROOM = 'sec-call-room';
let gw: TestGateway;
let rooms: RoomServiceClient;
let viewer: string;
let operator: string;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
  viewer = await gw.keyFor('viewer');
  operator = await gw.keyFor('operator');
  await loopbackTrunk(gw, 'sec_calls', [ROOM_NUMBER, SECRET_NUMBER]);
  // No agent answers this number: the call sits in its room with only the SIP participant.
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: 'sec-room',
    type: 'direct',
    room_name: CALL_ROOM,
    trunk_ids: ['sec_calls'],
    numbers: [ROOM_NUMBER],
    agent_name: 'nobody-answers-this',
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

const claimsOf = (token: string) => new TokenVerifier(stack.apiKey, stack.apiSecret).verify(token);

describe(
  'joining a phone call room through POST /api/rooms/:room/join',
  { timeout: 90_000 },
  () => {
    it('refuses a viewer key, never hands out the caller or agent identity, and lets operators listen only', async () => {
      const caller = '+15557400001';
      const phone = await dialFromPhone(
        { host: stack.sipHost, port: stack.sipPort },
        ROOM_NUMBER,
        caller,
        30_000,
      );
      try {
        const live = await eventually(async () => {
          const participants = await rooms.listParticipants(CALL_ROOM).catch(() => []);
          const sip = participants.find((p) => p.kind === ParticipantInfo_Kind.SIP);
          return sip && { room: CALL_ROOM, identity: sip.identity };
        }, 30_000);
        expect(live, 'the phone call never reached a room').toBeDefined();
        const join = (body: unknown, key: string | null) =>
          gw.request('POST', `/api/rooms/${live!.room}/join`, body, key);

        const byViewer = await join({ identity: 'eve' }, viewer);
        expect(byViewer.status, JSON.stringify(byViewer.body)).toBe(403);
        expect(byViewer.body.error).toBe('call_room_forbidden');
        expect(byViewer.body.message).toMatch(/phone call's room/);
        expect(byViewer.body.token).toBeUndefined();

        // Taking the caller's identity would disconnect the caller and put the joiner on the line.
        for (const identity of [live!.identity, 'agent-AJ_takeover', 'callee']) {
          const spoof = await join({ identity }, operator);
          expect(spoof.status, identity).toBe(400);
          expect(spoof.body.fields[0].field).toBe('identity');
        }

        const byOperator = await join({ identity: 'supervisor' }, operator);
        expect(byOperator.status, JSON.stringify(byOperator.body)).toBe(200);
        expect(byOperator.body.identity).toBe('monitor-supervisor');
        const claims = await claimsOf(byOperator.body.token);
        expect(claims.sub).toBe('monitor-supervisor');
        expect(claims.video).toMatchObject({ room: live!.room, canSubscribe: true });
        expect(claims.video?.canPublish).toBe(false);
        expect(claims.video?.canPublishData).toBe(false);

        // A signed link into the call room listens only too.
        const link = await gw.request('POST', `/api/rooms/${live!.room}/links`, {}, operator);
        expect(link.status).toBe(201);
        const byLink = await join({ link: link.body.link }, null);
        expect(byLink.status).toBe(200);
        expect(byLink.body.identity).toMatch(/^monitor-web-/);
        expect((await claimsOf(byLink.body.token)).video?.canPublish).toBe(false);
        expect(
          (await gw.request('POST', `/api/rooms/${live!.room}/links`, { identity: live!.identity }))
            .status,
        ).toBe(400);
      } finally {
        phone.hangUp();
      }
    });

    it('keeps web rooms open: viewers listen, operators and links talk', async () => {
      const room = 'sec-web-room';
      const byViewer = await gw.request('POST', `/api/rooms/${room}/join`, {}, viewer);
      expect(byViewer.status).toBe(200);
      const viewerClaims = await claimsOf(byViewer.body.token);
      expect(viewerClaims.video).toMatchObject({ canSubscribe: true, canPublish: false });
      const byOperator = await gw.request(
        'POST',
        `/api/rooms/${room}/join`,
        { identity: 'op' },
        operator,
      );
      expect(byOperator.status).toBe(200);
      expect(byOperator.body.identity).toBe('op');
      expect((await claimsOf(byOperator.body.token)).video).toMatchObject({
        canPublish: true,
        canPublishData: true,
      });
    });
  },
);

describe('agent profiles and the worker secrets', { timeout: 120_000 }, () => {
  const pipeline = (llm: Record<string, unknown>) => ({
    name: `leak-${randomUUID().slice(0, 8)}`,
    settings: {
      mode: 'pipeline',
      stt: { provider: 'deepgram' },
      llm: { provider: 'openai', ...llm },
      tts: { provider: 'openai' },
    },
  });

  it('refuses a profile that names a gateway secret or sends a key to a foreign host, and stores nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ api_key_env: 'LIVEKIT_API_SECRET' }, 'settings.llm.api_key_env'],
      [{ api_key_env: 'GATEWAY_ENCRYPTION_KEY' }, 'settings.llm.api_key_env'],
      [{ api_key_env: 'RECORDINGS_S3_SECRET_ACCESS_KEY' }, 'settings.llm.api_key_env'],
      [{ api_key_env: 'HOME' }, 'settings.llm.api_key_env'],
      [{ base_url: 'https://collector.example/v1' }, 'settings.llm.base_url'],
      [
        { base_url: 'http://127.0.0.1:9/v1', api_key_env: 'VG_PROVIDER_KEY_X' },
        'settings.llm.base_url',
      ],
    ];
    for (const [llm, field] of cases) {
      const res = await gw.request('POST', '/api/agents', pipeline(llm));
      expect(res.status, JSON.stringify(llm)).toBe(400);
      expect(res.body.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    const bridge = await gw.request('POST', '/api/agents', {
      name: 'leaky-bridge',
      settings: {
        mode: 'bridge',
        bridge: { url: 'wss://bridge.example/ws', jwt_secret_env: 'LIVEKIT_API_SECRET' },
      },
    });
    expect(bridge.status).toBe(400);
    expect(bridge.body.fields[0].field).toBe('settings.bridge.jwt_secret_env');
    const stored = await gw.request('GET', '/api/agents');
    expect(JSON.stringify(stored.body)).not.toMatch(
      /LIVEKIT_API_SECRET|GATEWAY_ENCRYPTION_KEY|collector/,
    );

    const fine = await gw.request(
      'POST',
      '/api/agents',
      pipeline({ api_key_env: 'VG_PROVIDER_KEY_GROQ', base_url: 'https://api.openai.com/v1' }),
    );
    expect(fine.status, JSON.stringify(fine.body)).toBe(201);
  });

  describe('a profile stored before the rule', () => {
    let worker: TestAgentWorker;
    let openai: OpenaiStandin;
    let deepgram: DeepgramStandin;

    beforeAll(async () => {
      [openai, deepgram] = await Promise.all([
        OpenaiStandin.start({ chatReply: 'Hello.' }),
        DeepgramStandin.start({ transcript: 'hello' }),
      ]);
      // Written straight into the database, as an older gateway would have accepted it.
      const settings = profileSettingsSchema.parse({
        mode: 'pipeline',
        greeting: 'Thank you for calling the secure line.',
        stt: { provider: 'deepgram', base_url: deepgram.url, api_key_env: 'VG_PROVIDER_KEY_DG' },
        llm: { provider: 'openai', base_url: openai.url, api_key_env: 'VG_PROVIDER_KEY_OPENAI' },
        tts: { provider: 'openai', base_url: openai.url, api_key_env: 'LIVEKIT_API_SECRET' },
      });
      const id = randomUUID();
      await gw.api.database.db
        .insertInto('agentProfiles')
        .values({
          id,
          name: 'stored-leak',
          settings: JSON.stringify(settings),
          updatedAt: new Date(),
        })
        .execute();
      const rule = await gw.request('POST', '/api/dispatch-rules', {
        name: 'sec-leak',
        type: 'individual',
        room_prefix: 'secleak-',
        trunk_ids: ['sec_calls'],
        numbers: [SECRET_NUMBER],
        agent_profile_id: id,
      });
      expect(rule.status, JSON.stringify(rule.body)).toBe(201);
      worker = await startAgentWorker({
        gatewayUrl: gw.internalUrl,
        agentName: AGENT,
        env: {
          VG_PROVIDER_KEY_DG: 'dg-test-key',
          VG_PROVIDER_KEY_OPENAI: 'sk-test-key',
          // The stand-ins' host is allowed: only the secret's name stands in the way.
          AGENT_PROVIDER_HOSTS: '127.0.0.1',
        },
        // The job process loads the VAD and the plugins: slow on a busy 2-core machine.
        timeoutMs: 150_000,
      });
    }, 240_000);

    afterAll(async () => {
      await worker?.stop();
      await Promise.all([openai?.close(), deepgram?.close()]);
    });

    it('does not make the worker send LIVEKIT_API_SECRET to the host it names', async () => {
      const phone = await dialFromPhone(
        { host: stack.sipHost, port: stack.sipPort },
        SECRET_NUMBER,
        '+15557400002',
        10_000,
      );
      try {
        const refused = await eventually(
          async () => (worker.logs().includes('LIVEKIT_API_SECRET is one of') ? true : undefined),
          25_000,
        );
        await phone.call.done;
        const sent = [
          ...openai.speechRequests,
          ...openai.chatRequests,
          ...openai.transcriptionRequests,
        ].map((r) => r.authorization ?? '');
        expect(sent.filter((a) => a.includes(stack.apiSecret))).toEqual([]);
        expect(refused, 'the worker never took the call or never refused the key').toBe(true);
      } finally {
        phone.hangUp();
      }
    });
  });
});

describe('GET /api/diagnostics/calls with credentials', () => {
  const query = (password: string) =>
    `/api/diagnostics/calls?caller=%2B15557400009&called=%2B15551270003&source_ip=192.0.2.7&username=provider&password=${password}`;

  beforeAll(async () => {
    const trunk = await gw.request('POST', '/api/trunks', {
      trunk_id: 'sec_digest',
      name: 'Digest',
      provider: 'generic',
      numbers: ['+15551270003'],
      inbound_username: 'provider',
      inbound_password: 'right-password-1',
    });
    expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  });

  it('is no password oracle: operators are refused, admins are throttled', async () => {
    const byOperator = await gw.request('GET', query('guess-1'), undefined, operator);
    expect(byOperator.status).toBe(403);
    expect(byOperator.body.message).toMatch(/admin/);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1)
      statuses.push((await gw.request('GET', query(`guess-${i}`))).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await gw.request('GET', query('right-password-1'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Without credentials the route check is not throttled.
    const plain = await gw.request(
      'GET',
      '/api/diagnostics/calls?caller=%2B15557400009&called=%2B15551270003&source_ip=192.0.2.7',
    );
    expect(plain.status).toBe(200);
  });
});

describe('trunk fields that reach SIP messages', () => {
  let next = 100;
  const trunk = (extra: Record<string, unknown>) => ({
    trunk_id: `sec_${randomUUID().slice(0, 8)}`,
    name: 'Injected',
    provider: 'generic',
    numbers: [`+1555128${String((next += 1)).padStart(4, '0')}`],
    ...extra,
  });

  it('refuses source ranges that admit everyone unless allow_any_source says so', async () => {
    for (const range of ['0.0.0.0/0', '::/0', '0.0.0.0/1', '10.0.0.0/8', '2000::/3']) {
      const body = trunk({ allowed_addresses: ['203.0.113.10', range] });
      const res = await gw.request('POST', '/api/trunks', body);
      expect(res.status, range).toBe(400);
      expect(res.body.fields[0].field).toBe('allowed_addresses.1');
      expect(res.body.fields[0].message).toMatch(/allow_any_source/);
      expect((await gw.request('GET', `/api/trunks/${body.trunk_id}`)).status).toBe(404);
    }
    const kept = trunk({ allowed_addresses: ['203.0.113.0/24'] });
    expect((await gw.request('POST', '/api/trunks', kept)).status).toBe(201);
    const widened = await gw.request('PUT', `/api/trunks/${kept.trunk_id}`, {
      allowed_addresses: ['0.0.0.0/0'],
    });
    expect(widened.status).toBe(400);
    const after = await gw.request('GET', `/api/trunks/${kept.trunk_id}`);
    expect(after.body.allowed_addresses).toEqual(['203.0.113.0/24']);
    const open = trunk({ allowed_addresses: ['0.0.0.0/0'], allow_any_source: true });
    expect((await gw.request('POST', '/api/trunks', open)).status).toBe(201);
  });

  it('refuses CR, LF and other bytes SIP does not allow in credentials, realms and hosts', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [
        { inbound_username: 'alice\r\nX-Evil: 1', inbound_password: 'password-1' },
        'inbound_username',
      ],
      [{ inbound_username: 'alice', inbound_password: 'pass\r\nword-1' }, 'inbound_password'],
      [{ proxy_address: 'sip.example.com', username: 'bob\nVia: x' }, 'username'],
      [{ proxy_address: 'sip.example.com', username: 'bob;lr' }, 'username'],
      [{ proxy_address: 'sip.example.com', username: 'bob', password: 'p\u0000' }, 'password'],
      [{ proxy_address: 'sip.example.com', realm: 'example.com"\r\nX: 1' }, 'realm'],
      [{ proxy_address: 'sip.example.com', from_host: 'example.com\r\nX: 1' }, 'from_host'],
    ];
    for (const [fields, field] of bad) {
      const body = trunk({ allowed_addresses: ['203.0.113.10'], ...fields });
      const res = await gw.request('POST', '/api/trunks', body);
      expect(res.status, field).toBe(400);
      expect(res.body.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect((await gw.request('GET', `/api/trunks/${body.trunk_id}`)).status).toBe(404);
    }
  });

  it('refuses transfer targets that carry URI headers or point the REFER elsewhere', async () => {
    const call = await gw.api.database.db
      .insertInto('calls')
      .values({
        id: randomUUID(),
        roomName: 'call-sec-transfer',
        participantIdentity: 'sip_+15557400003',
        direction: 'inbound',
        status: 'active',
        startedAt: new Date(),
        answeredAt: new Date(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const targets = [
      'sip:bob@pbx.example.com;method=INVITE?Replaces=abc%40host%3Bto-tag%3D1',
      'sip:bob@pbx.example.com;maddr=198.51.100.9',
      'sip:bob@pbx.example.com;transport=udp>;x',
      'sip:bob%0d%0aX-Evil:1@pbx.example.com',
    ];
    for (const to of targets) {
      const res = await gw.request('POST', `/api/calls/${call.id}/transfer`, { to });
      expect(res.status, to).toBe(400);
      expect(res.body.fields[0].field).toBe('to');
    }
    const after = await gw.request('GET', `/api/calls/${call.id}`);
    expect(after.body.status).toBe('active');
    const profile = await gw.request('POST', '/api/agents', {
      name: 'sec-transfer',
      settings: {
        tools: { transfer: true, transfer_targets: { sales: targets[0] } },
        ivr: { prompt: 'Press 1.', options: { '1': { transfer: targets[1] } } },
      },
    });
    expect(profile.status).toBe(400);
    expect(profile.body.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'settings.ivr.options.1.transfer',
      'settings.tools.transfer_targets.sales',
    ]);
  });
});

describe('the internal listener', () => {
  it('serves /internal and /metrics there and nowhere on the public port', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(404);
    const internalOnPublic = await fetch(`${gw.url}/internal/agent/calls/admit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(internalOnPublic.status).toBe(404);
    const metrics = await fetch(`${gw.internalUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('voice_gateway_http_requests_total');
    // Loopback is no login: the agent routes still want the worker's token.
    const unsigned = await fetch(`${gw.internalUrl}/internal/agent/calls/admit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unsigned.status).toBe(401);
  });
});

/** Runs an entry point with `env` (nothing else inherited); its exit code and output. */
async function runEntry(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: packageRoot(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 70_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, output };
}

describe('a weak LiveKit secret', { timeout: 240_000 }, () => {
  it('stops the API and the agent worker at start, naming the variable and the fix', async () => {
    // LiveKit "is" on a closed loopback port: nothing is reached even if the process started.
    const livekitUrl = `http://127.0.0.1:${await freeTcpPort()}`;
    const env = async (secret?: string) => ({
      LIVEKIT_URL: livekitUrl,
      ...(secret !== undefined && { LIVEKIT_API_SECRET: secret }),
      GATEWAY_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'vg-weak-secret-')),
      API_PORT: String(await freeTcpPort()),
      INTERNAL_PORT: String(await freeTcpPort()),
      AGENT_HTTP_PORT: String(await freeTcpPort()),
      RECONCILE_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
    });
    // One after another: each loads the whole program, slow on a busy 2-core machine.
    const runs = [
      await runEntry('src/http/main.ts', await env()),
      await runEntry('src/http/main.ts', await env('only-twenty-chars-ok')),
      await runEntry('src/agent/main.ts', await env('devkey')),
    ];
    for (const run of runs) {
      expect(run.code, run.output).toBe(1);
      expect(run.output).toMatch(/LIVEKIT_API_SECRET: .*openssl rand -base64 32/);
    }
    expect(runs[0]!.output).toContain('unset or empty');
  });
});
