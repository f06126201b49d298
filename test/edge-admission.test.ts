import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RoomServiceClient } from 'livekit-server-sdk';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { sipRequest, startVictim, statuses, udpExchange, type Victim } from './helpers/sip-raw.js';
import { inviteStatus } from './helpers/sip-uac.js';
import { runSipp } from './helpers/sipp.js';
import { routedUacScenario } from './helpers/sipp-routed.js';
import { startToneParticipant } from './helpers/tone-participant.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
const IP_DID = '+15557772001';
const CPS_DID = '+15557772002';
const CALL_DID = '+15557772003';
const CALL_ROOM = 'adm-answered';
const OUTSIDER = '127.0.0.2';
const scenarios = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sipp');

let edge: EdgeProcess;
let gw: TestGateway;
let victim: Victim;

const at = () => ({ host: '127.0.0.1', port: edge.sipPort });

async function edgeMetric(name: string, label: string, value: string): Promise<number> {
  await gw.api.edge!.pollNow();
  const text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
  return Number(new RegExp(`${name}\\{${label}="${value}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

const edgeEvent = (kind: string) => edgeMetric('voice_gateway_edge_events', 'kind', kind);

async function roomsWith(prefix: string): Promise<string[]> {
  return (await rooms.listRooms()).map((r) => r.name).filter((n) => n.startsWith(prefix));
}

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  victim = await startVictim('127.0.0.20');
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      // Long: what a test sees of a trunk change is the push, not the next poll.
      EDGE_POLL_SECONDS: '120',
    },
  });
  await clearLivekitSip(gw.sip);
  // LiveKit sees the edge's address (127.0.0.1): a trunk the edge relays to must admit it.
  for (const trunk of [
    { trunk_id: 'adm_ip', numbers: [IP_DID], allowed_addresses: ['127.0.0.1'] },
    {
      trunk_id: 'adm_cps',
      numbers: [CPS_DID],
      allowed_addresses: ['127.0.0.1'],
      calls_per_second_limit: 2,
    },
    { trunk_id: 'adm_call', numbers: [CALL_DID], allowed_addresses: ['127.0.0.1'] },
  ]) {
    const res = await gw.request('POST', '/api/trunks', {
      name: trunk.trunk_id,
      provider: 'generic',
      ...trunk,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: 'admission-calls',
    type: 'individual',
    room_prefix: 'adm-',
    trunk_ids: ['adm_ip', 'adm_cps'],
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  const direct = await gw.request('POST', '/api/dispatch-rules', {
    name: 'admission-answered',
    type: 'direct',
    room_name: CALL_ROOM,
    trunk_ids: ['adm_call'],
  });
  expect(direct.status, JSON.stringify(direct.body)).toBe(201);
  await gw.api.edge!.syncAdmission();
}, 60_000);

afterAll(async () => {
  victim?.close();
  await gw?.close();
  await edge?.stop();
});

describe('SIP edge admission', () => {
  it("refuses an INVITE from a source the number's trunk does not admit, and unknown numbers", async () => {
    const before = new Set(await roomsWith('adm-'));
    expect(await inviteStatus({ ...at(), number: IP_DID, localHost: OUTSIDER })).toBe(403);
    expect(await inviteStatus({ ...at(), number: '+15550001234', localHost: OUTSIDER })).toBe(403);
    expect((await roomsWith('adm-')).filter((r) => !before.has(r))).toEqual([]);
    expect(await edgeEvent('refused_source')).toBeGreaterThanOrEqual(1);
    expect(await edgeEvent('unknown_number')).toBeGreaterThanOrEqual(1);
    // The operator sees the refusals by SIP code too (Kamailio's counters may lag a poll).
    const refusals = await eventually(async () => {
      const n = await edgeMetric('voice_gateway_edge_sip_replies', 'code', '403');
      return n >= 2 ? n : undefined;
    }, 5000);
    expect(refusals, 'the 403s never showed in voice_gateway_edge_sip_replies').toBeDefined();
    // The trunk's own source still gets through: LiveKit rings.
    expect(await inviteStatus({ ...at(), number: IP_DID, localHost: '127.0.0.1' })).toBe(180);
  });

  it('follows trunk changes at once: a source added is admitted, removed again refused', async () => {
    const widened = await gw.request('PUT', '/api/trunks/adm_ip', {
      allowed_addresses: ['127.0.0.1', `${OUTSIDER}`],
    });
    expect(widened.status, JSON.stringify(widened.body)).toBe(200);
    const rang = await eventually(async () => {
      const s = await inviteStatus({ ...at(), number: IP_DID, localHost: OUTSIDER });
      return s === 180 ? s : undefined;
    }, 5_000);
    expect(rang).toBe(180);
    await gw.request('PUT', '/api/trunks/adm_ip', { allowed_addresses: ['127.0.0.1'] });
    const refused = await eventually(async () => {
      const s = await inviteStatus({ ...at(), number: IP_DID, localHost: OUTSIDER });
      return s === 403 ? s : undefined;
    }, 5_000);
    expect(refused).toBe(403);
  });

  it("relays a real call's ACK and BYE within the dialog the edge record-routed", async () => {
    // LiveKit answers once someone in the room subscribes to the caller.
    const listener = await startToneParticipant({
      wsUrl: stack.livekitWsUrl,
      apiKey: stack.apiKey,
      apiSecret: stack.apiSecret,
      room: CALL_ROOM,
      identity: 'admission-listener',
      seconds: 60,
    });
    try {
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-call-'));
      const run = runSipp(
        [
          `127.0.0.1:${edge.sipPort}`,
          '-sf',
          routedUacScenario(cwd),
          '-key',
          'caller',
          '+15557779001',
          '-s',
          CALL_DID,
          '-i',
          '127.0.0.1',
          '-p',
          '0',
          '-m',
          '1',
          '-d',
          '500',
          '-timeout',
          '25s',
          '-timeout_error',
          '-nostdin',
          '-trace_err',
        ],
        cwd,
      );
      // sipp exits 0 only when the 200 came, and its BYE (through the edge) was answered.
      const result = await run.done;
      expect(result.code, result.stderr).toBe(0);
    } finally {
      await listener.stop();
    }
  });

  it('relays no forged in-dialog request and no forged response to another host', async () => {
    const target = `sip:victim@${victim.host}:${victim.port}`;
    const forged = (method: string) =>
      sipRequest({
        method,
        uri: target,
        headers: [
          `To: <${target}>;tag=forged-to-tag`,
          `Route: <sip:127.0.0.1:${edge.sipPort};lr>`,
          `CSeq: 2 ${method}`,
          `Contact: <sip:attacker@${OUTSIDER}>`,
          ...(method === 'MESSAGE' ? ['Content-Type: text/plain'] : []),
        ],
        body: method === 'MESSAGE' ? 'hello' : '',
      });
    const answered = new Map<string, number[]>();
    for (const method of ['OPTIONS', 'MESSAGE', 'INVITE', 'BYE']) {
      const answers = await udpExchange({ ...at(), localHost: OUTSIDER, message: forged(method) });
      answered.set(method, statuses(answers));
    }
    expect(victim.received).toEqual([]);
    for (const [method, codes] of answered) expect(codes, method).toEqual([404]);
    // Out of dialog, with a Route to the edge: the edge itself answers, relays nothing.
    const initial = sipRequest({
      method: 'INVITE',
      uri: target,
      headers: [`To: <${target}>`, `Route: <sip:127.0.0.1:${edge.sipPort};lr>`, 'CSeq: 1 INVITE'],
    });
    expect(statuses(await udpExchange({ ...at(), localHost: OUTSIDER, message: initial }))).toEqual(
      [403],
    );
    // A response whose second Via names the victim: stateless forwarding would send it there.
    const response = [
      'SIP/2.0 200 OK',
      `Via: SIP/2.0/UDP 127.0.0.1:${edge.sipPort};branch=z9hG4bKforged1`,
      `Via: SIP/2.0/UDP ${victim.host}:${victim.port};branch=z9hG4bKforged2`,
      'From: <sip:a@127.0.0.2>;tag=1',
      'To: <sip:b@127.0.0.2>;tag=2',
      'Call-ID: forged-response@attacker',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    await udpExchange({ ...at(), localHost: OUTSIDER, message: response, waitMs: 500 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(victim.received).toEqual([]);
    expect(await edgeEvent('relay_refused')).toBeGreaterThanOrEqual(4);
  });

  it('relays REGISTERs only with the gateway secret and only to a trunk registrar', async () => {
    const target = `sip:${victim.host}:${victim.port}`;
    const register = (token?: string) =>
      sipRequest({
        method: 'REGISTER',
        uri: target,
        headers: [
          `To: <sip:someone@${victim.host}>`,
          'CSeq: 1 REGISTER',
          'Contact: <sip:attacker@127.0.0.2>',
          ...(token ? [`X-Edge-Token: ${token}`] : []),
        ],
      });
    const relay = { host: '127.0.0.1', port: edge.settings.rpcPort, localHost: '127.0.0.1' };
    expect(statuses(await udpExchange({ ...relay, message: register() }))).toEqual([403]);
    expect(
      statuses(await udpExchange({ ...relay, message: register('a-guessed-secret-value') })),
    ).toEqual([403]);
    // Even the gateway's own secret does not reach a registrar no trunk names.
    expect(
      statuses(await udpExchange({ ...relay, message: register(edge.settings.rpcSecret) })),
    ).toEqual([403]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(victim.received).toEqual([]);
  });

  it('answers JSON-RPC without the secret with 401 and nothing else', async () => {
    const call = (method: string, params: unknown[], token?: string) =>
      fetch(edge.rpcUrl, {
        method: 'POST',
        headers: token ? { 'x-edge-token': token } : {},
        body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
      });
    for (const token of [
      undefined,
      '',
      'wrong-secret-wrong-secret',
      `${edge.settings.rpcSecret}x`,
    ]) {
      const dump = await call('uac.reg_dump', [], token);
      expect(dump.status).toBe(401);
      expect(await dump.text()).toBe('');
      expect((await call('htable.sets', ['numtrunk', '15550009999', 'mine'], token)).status).toBe(
        401,
      );
    }
    const table = await edge.rpc
      .call<unknown>('htable.get', ['numtrunk', '15550009999'])
      .catch((error: unknown) => error);
    expect(table).toBeInstanceOf(Error);
    // The gateway, holding the secret, keeps working.
    expect(await edge.rpc.call<string>('core.version')).toContain('kamailio');
  });

  it('enforces calls_per_second_limit: above it, 503 with Retry-After', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-cps-'));
    const run = runSipp(
      [
        `127.0.0.1:${edge.sipPort}`,
        '-sf',
        path.join(scenarios, 'uac-ring-or-503.xml'),
        '-s',
        CPS_DID,
        '-i',
        '127.0.0.1',
        '-p',
        '0',
        '-r',
        '10',
        '-m',
        '20',
        '-timeout',
        '30s',
        '-nostdin',
        '-trace_msg',
      ],
      cwd,
    );
    const result = await run.done;
    const log = readdirSync(cwd).find((f) => f.endsWith('_messages.log'));
    expect(log, result.stderr).toBeDefined();
    const text = readFileSync(path.join(cwd, log!), 'utf8');
    const callsWith = (status: number) => {
      const ids = new Set<string>();
      for (const block of text.split(/\n-{20,}[^\n]*\n/)) {
        if (!new RegExp(`^UDP message received[^\\n]*\\n\\s*SIP/2\\.0 ${status} `).test(block))
          continue;
        const id = /^Call-ID:\s*(\S+)/im.exec(block)?.[1];
        if (id) ids.add(id);
      }
      return ids;
    };
    const refused = callsWith(503);
    const rang = callsWith(180);
    // 20 calls at 10/s take about 2 s: about 2 per second get through.
    expect(refused.size, text.slice(0, 2000)).toBeGreaterThanOrEqual(10);
    expect(rang.size).toBeGreaterThanOrEqual(2);
    expect(rang.size).toBeLessThanOrEqual(8);
    expect(text).toMatch(/SIP\/2\.0 503 Service Unavailable[\s\S]*?Retry-After: 1/);
    expect(result.code, result.stderr).toBe(0);
    expect(await edgeEvent('cps_limited')).toBeGreaterThanOrEqual(10);
  });
});
