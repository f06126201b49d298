import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { eventually } from './helpers/wait.js';
import { receivedRequest, startSippUas } from './sipp/uas.js';

// GET /api/config/status on the real stack (PostgreSQL, Redis, LiveKit, LiveKit SIP, a call
// host), and POST /api/calls/initiate, the spec's name for POST /api/calls.

const stack = inject('stack');
const AGENT = 'config-status-test';
let gw: TestGateway;
let worker: TestAgentWorker | undefined;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

type Status = {
  status: string;
  down: string[];
  parts: Record<string, { status: string; version?: string | null; [k: string]: unknown }>;
};

describe('GET /api/config/status', () => {
  it('says what the stack runs and that every part is up', async () => {
    const status = await eventually(async () => {
      const res = await gw.request('GET', '/api/config/status');
      expect(res.status).toBe(200);
      const body = res.body as Status;
      const hosts = (body.parts.call_hosts!.hosts ?? []) as { agent_name: string }[];
      // Its own host: another file's, stopped a moment ago, may not have gone stale yet.
      return hosts.some((h) => h.agent_name === AGENT) && body.parts.livekit!.version
        ? body
        : undefined;
    }, 20_000);
    expect(status, 'the call host never showed up').toBeDefined();
    const { parts } = status!;
    expect(status!.status).toBe('ok');
    expect(status!.down).toEqual([]);
    expect(parts.gateway).toMatchObject({ status: 'up', version: '0.1.0' });
    expect(parts.database).toMatchObject({ status: 'up', kind: 'postgres' });
    expect(parts.database!.version).toMatch(/^\d+\.\d+/);
    expect(parts.redis!.status).toBe('up');
    expect(parts.redis!.version).toMatch(/^\d+\.\d+\.\d+$/);
    // The pinned LiveKit server, as it told the call host when it registered.
    expect(parts.livekit).toMatchObject({ status: 'up', version: '1.13.5' });
    expect(parts.sip).toMatchObject({ status: 'up', version: null });
    expect(parts.sip!.answer).toMatch(/^200 /);
    expect(parts.edge!.status).toBe('disabled');
    const hosts = parts.call_hosts!.hosts as { agent_name: string; registered: boolean }[];
    expect(hosts.filter((h) => h.agent_name === AGENT)).toHaveLength(1);
    expect(hosts.find((h) => h.agent_name === AGENT)).toMatchObject({
      registered: true,
      capacity: 10,
    });
  }, 40_000);

  it('answers viewers, and no one without a key', async () => {
    const viewer = await gw.keyFor('viewer');
    expect((await gw.request('GET', '/api/config/status', undefined, viewer)).status).toBe(200);
    expect((await gw.request('GET', '/api/config/status', undefined, null)).status).toBe(401);
  });

  it('reports the call hosts down once the last host stopped beating', async () => {
    await worker!.stop();
    worker = undefined;
    const status = await eventually(async () => {
      const body = (await gw.request('GET', '/api/config/status')).body as Status;
      return body.parts.call_hosts!.status === 'down' ? body : undefined;
    }, 25_000);
    expect(status, 'the stopped host was still reported up').toBeDefined();
    expect(status!.status).toBe('degraded');
    expect(status!.down).toEqual(['call_hosts']);
    expect(status!.parts.call_hosts!.error).toMatch(/no call host/);
  }, 40_000);
});

describe('POST /api/calls/initiate', () => {
  it('refuses a bad body as POST /api/calls does, naming the field', async () => {
    const body = { trunk_id: 'nope', to_number: 'not a number' };
    const alias = await gw.request('POST', '/api/calls/initiate', body);
    const original = await gw.request('POST', '/api/calls', body);
    expect(alias.status).toBe(400);
    expect(alias.body).toEqual(original.body);
    expect(JSON.stringify(alias.body.fields)).toContain('to_number');
  });

  it('places an outbound call to a sipp UAS', async () => {
    const trunk = await gw.request('POST', '/api/trunks', {
      trunk_id: 'initiate_out',
      name: 'sipp UAS',
      provider: 'generic',
      supports_inbound: false,
      proxy_address: '127.0.0.1:5060',
      numbers: ['+15550100300'],
    });
    expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
    const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 60 });
    try {
      const moved = await gw.request('PUT', '/api/trunks/initiate_out', {
        proxy_address: `127.0.0.1:${uas.port}`,
      });
      expect(moved.status).toBe(200);
      let res = await gw.request('POST', '/api/calls/initiate', {
        trunk_id: 'initiate_out',
        to_number: '+15551230301',
      });
      // LiveKit SIP refuses calls while the machine's CPU is high: retried, bounded.
      for (let i = 0; i < 20 && res.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        res = await gw.request('POST', '/api/calls/initiate', {
          trunk_id: 'initiate_out',
          to_number: '+15551230301',
        });
      }
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ direction: 'outbound', to_number: '+15551230301' });
      expect(receivedRequest(uas.messages(), 'INVITE')).toBeDefined();
      const hangup = await gw.request('POST', `/api/calls/${res.body.id}/hangup`);
      expect(hangup.status, JSON.stringify(hangup.body)).toBe(200);
    } finally {
      uas.stop();
    }
  }, 90_000);
});
