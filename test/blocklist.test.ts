import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentDispatchClient, RoomServiceClient, type Room } from 'livekit-server-sdk';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { runSipp, type SippRun } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
const dispatches = new AgentDispatchClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
const DID = '+15557772001';
const AGENT = 'blocklist-test-agent';
const ROOM_PREFIX = 'blk-';
const DEFAULT_STATUS = 480;
const scenarios = path.join(path.dirname(new URL(import.meta.url).pathname), 'sipp');
const sipLog = () => readFileSync(path.join(stack.logDir, 'livekit-sip.log'), 'utf8');

let edge: EdgeProcess;
let gw: TestGateway;
let receiver: Receiver;

/** sipp calling DID through the edge from `caller`, with one of test/sipp/uac-*.xml filled in. */
function callFrom(
  caller: string,
  scenario: 'uac-refused' | 'uac-ring-cancel',
  fill: Record<string, string>,
): SippRun & { callId: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-'));
  let text = readFileSync(path.join(scenarios, `${scenario}.xml`), 'utf8');
  for (const [key, value] of Object.entries(fill)) text = text.replaceAll(`[${key}]`, value);
  const file = path.join(dir, 'scenario.xml');
  writeFileSync(file, text);
  // A Call-ID no other call in the shared livekit-sip log can have.
  const tag = `blk-${randomBytes(6).toString('hex')}`;
  const run = runSipp(
    [
      `127.0.0.1:${edge.sipPort}`,
      '-cid_str',
      `${tag}-%u-%p@%s`,
      '-sf',
      file,
      '-s',
      DID,
      '-key',
      'caller',
      caller,
      '-i',
      '127.0.0.1',
      '-p',
      '0',
      '-m',
      '1',
      '-timeout',
      '20s',
      '-timeout_error',
      '-nostdin',
      '-trace_err',
    ],
    dir,
  );
  return { ...run, callId: `${tag}-1-${run.pid}@127.0.0.1` };
}

async function roomNames(): Promise<Set<string>> {
  return new Set((await rooms.listRooms()).map((r) => r.name));
}

/** The LiveKit room a call from `caller` made (since `before`), while it rings. */
async function roomOf(caller: string, before: Set<string>): Promise<Room | undefined> {
  return eventually(async () => {
    for (const room of await rooms.listRooms()) {
      if (!room.name.startsWith(ROOM_PREFIX) || before.has(room.name)) continue;
      const participants = await rooms.listParticipants(room.name);
      if (participants.some((p) => p.attributes['sip.phoneNumber'] === caller)) return room;
    }
    return undefined;
  }, 12_000);
}

/** A call from `caller` that is refused with `status` at the edge; checks LiveKit never saw it. */
async function expectRefused(caller: string, status: number): Promise<string> {
  const before = await roomNames();
  const call = callFrom(caller, 'uac-refused', { status: String(status) });
  const result = await call.done;
  expect(result.code, `sipp expected ${status}: ${result.stderr.slice(-800)}`).toBe(0);
  // LiveKit SIP logs every INVITE it gets with its Call-ID (checked by the ringing calls below).
  expect(sipLog()).not.toContain(call.callId);
  const after = [...(await roomNames())].filter((n) => !before.has(n));
  expect(after).toEqual([]);
  return call.callId;
}

/** A call from `caller` that reaches LiveKit: it rings, a room with the agent's dispatch exists. */
async function expectRings(caller: string): Promise<void> {
  const before = await roomNames();
  const call = callFrom(caller, 'uac-ring-cancel', { hold_ms: '3000' });
  try {
    const room = await roomOf(caller, before);
    expect(room, `no LiveKit room for a call from ${caller}`).toBeDefined();
    const agents = await dispatches.listDispatch(room!.name);
    expect(agents.map((d) => d.agentName)).toContain(AGENT);
  } finally {
    const result = await call.done;
    expect(result.code, `sipp (ring, cancel): ${result.stderr.slice(-800)}`).toBe(0);
  }
  expect(sipLog()).toContain(call.callId);
}

async function blockedCallRecords(caller: string) {
  await gw.api.edge!.pollNow();
  const list = await gw.request('GET', '/api/calls?status=blocked&per_page=200');
  expect(list.status).toBe(200);
  return (list.body.items as { id: string; from_number: string }[]).filter(
    (c) => c.from_number === caller,
  );
}

async function entries() {
  const list = await gw.request('GET', '/api/numbers/blocked');
  expect(list.status).toBe(200);
  return list.body.items as { id: string; number: string | null; prefix: string | null }[];
}

async function metric(name: string, kind: string): Promise<number> {
  const text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
  const m = new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  receiver = await startReceiver(() => 200);
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      EDGE_POLL_SECONDS: '0.5',
      BLOCKLIST_SIP_STATUS: String(DEFAULT_STATUS),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
  });
  await clearLivekitSip(gw.sip);
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: 'blk_trunk',
    name: 'Calls relayed by the edge',
    provider: 'generic',
    numbers: [DID],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: 'blocklist-calls',
    type: 'individual',
    room_prefix: ROOM_PREFIX,
    agent_name: AGENT,
    trunk_ids: ['blk_trunk'],
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  const endpoint = await gw.request('POST', '/api/webhook-endpoints', {
    url: receiver.url,
    event_types: ['call.blocked'],
  });
  expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await edge?.stop();
  await receiver?.close();
});

describe('caller blocklist at the SIP edge', () => {
  it('refuses a blocked number with its status before LiveKit: no room, no agent job; the call is in the history as blocked', async () => {
    const caller = '+15550102001';
    const created = await gw.request('POST', '/api/numbers/block', {
      number: caller,
      reason: 'robocaller',
      sip_status: 486,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'number',
      number: caller,
      prefix: null,
      reason: 'robocaller',
      sip_status: 486,
      effective_sip_status: 486,
      expires_at: null,
      hits: 0,
      edge: 'applied',
    });

    const callId = await expectRefused(caller, 486);

    const [record, ...more] = await blockedCallRecords(caller);
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      sip_call_id: callId,
      status: 'blocked',
      direction: 'inbound',
      room_name: null,
      from_number: caller,
      to_number: DID,
      end_reason: 'blocked',
      trunk_id: expect.any(String),
    });
    const csv = await fetch(`${gw.url}/api/calls/export.csv?status=blocked`, {
      headers: { authorization: `Bearer ${gw.adminKey}` },
    });
    const lines = (await csv.text()).split('\n');
    expect(lines.find((l) => l.includes(callId))).toMatch(/,blocked,\+15550102001,\+15557772001,/);

    const listed = (await entries()).find((e) => e.number === caller);
    expect(listed).toMatchObject({ hits: 1 });
    expect(await metric('voice_gateway_blocked_calls_total', 'number')).toBe(1);
    expect(await metric('voice_gateway_edge_events', 'blocked')).toBe(1);

    const event = await eventually(async () => receiver.requests[0], 10_000);
    expect(event, 'no call.blocked webhook arrived').toBeDefined();
    expect(JSON.parse(event!.body)).toMatchObject({
      type: 'call.blocked',
      data: {
        call_id: record!.id,
        from_number: caller,
        sip_status: 486,
        matched: { number: caller },
      },
    });

    // The edge forgets its table on a restart; the next poll puts the entry back.
    await edge.rpc.call('htable.flush', ['blocked']);
    await gw.api.edge!.pollNow();
    await expectRefused(caller, 486);
    expect(await blockedCallRecords(caller)).toHaveLength(2);
  });

  it('refuses every caller under a blocked prefix with the configured default status', async () => {
    const created = await gw.request('POST', '/api/numbers/block', { prefix: '+1555019' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'prefix',
      prefix: '1555019',
      sip_status: null,
      effective_sip_status: DEFAULT_STATUS,
    });
    await expectRefused('+15550190001', DEFAULT_STATUS);
    await expectRefused('+15550199876', DEFAULT_STATUS);
    expect(await blockedCallRecords('+15550199876')).toHaveLength(1);
    expect(await metric('voice_gateway_blocked_calls_total', 'prefix')).toBe(2);
    expect((await entries()).find((e) => e.prefix === '1555019')).toMatchObject({ hits: 2 });
  });

  it('lets a caller who is not on the list reach LiveKit and the agent dispatch', async () => {
    await expectRings('+15550300001');
    expect(await blockedCallRecords('+15550300001')).toEqual([]);
  });

  it('unblocks a number with DELETE (URL-encoded +); deleting it again is a 404', async () => {
    const caller = '+15550102001';
    const removed = await gw.request('DELETE', `/api/numbers/block/${encodeURIComponent(caller)}`);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body).toMatchObject({ number: caller, hits: 2, edge: 'applied' });
    expect((await entries()).some((e) => e.number === caller)).toBe(false);
    await expectRings(caller);
    const again = await gw.request('DELETE', `/api/numbers/block/${encodeURIComponent(caller)}`);
    expect(again.status).toBe(404);
    const audit = await gw.request('GET', '/api/audit?action=blocklist.remove');
    expect(audit.body.items[0]).toMatchObject({ entity_type: 'blocked_number' });
  });

  it('stops blocking when the entry expires', async () => {
    const caller = '+15550405001';
    const created = await gw.request('POST', '/api/numbers/block', {
      number: caller,
      expires_in_seconds: 3,
      sip_status: 603,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await expectRefused(caller, 603);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect((await entries()).some((e) => e.number === caller)).toBe(false);
    // The supervisor polls every 0.5 s: the expired entry is out of the edge by now.
    await gw.api.edge!.pollNow();
    await expectRings(caller);
  });

  it('rejects bad entries with a 400 naming the field, and only admins change the list', async () => {
    const bad = async (body: unknown) => {
      const res = await gw.request('POST', '/api/numbers/block', body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      return (res.body.fields as { field: string }[]).map((f) => f.field);
    };
    expect(await bad({ number: '12345' })).toEqual(['number']);
    expect(await bad({ number: '+1 555 abc' })).toEqual(['number']);
    expect(await bad({ prefix: '49-30' })).toEqual(['prefix']);
    expect(await bad({ number: '+15550102002', prefix: '1555' })).toContain('prefix');
    expect(await bad({ reason: 'nothing to block' })).toContain('number');
    expect(await bad({ number: '+15550102002', sip_status: 200 })).toEqual(['sip_status']);
    expect(await bad({ number: '+15550102002', expires_at: '2020-01-01T00:00:00Z' })).toEqual([
      'expires_at',
    ]);
    expect(await bad({ number: '+15550102002', color: 'red' })).toEqual(['(body)']);
    expect((await entries()).some((e) => e.number === '+15550102002')).toBe(false);

    const viewer = await gw.keyFor('viewer');
    const denied = await gw.request('POST', '/api/numbers/block', { prefix: '1' }, viewer);
    expect(denied.status).toBe(403);
    expect((await gw.request('GET', '/api/numbers/blocked', undefined, viewer)).status).toBe(200);

    const first = await gw.request('POST', '/api/numbers/block', { prefix: '4930' });
    expect(first.status).toBe(201);
    const duplicate = await gw.request('POST', '/api/numbers/block', { prefix: '+4930' });
    expect(duplicate.status).toBe(409);
  });
});
