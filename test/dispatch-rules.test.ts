import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

let gw: TestGateway;
let rooms: RoomServiceClient;
const stack = inject('stack');

beforeAll(async () => {
  gw = await startTestGateway();
  await clearLivekitSip(gw.sip);
  rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: 'loopback_provider',
    name: 'Loopback provider',
    provider: 'generic',
    numbers: ['+15550001111', '+15550002222'],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(trunk.status).toBe(201);
});
afterAll(async () => {
  await gw?.close();
});

describe('dispatch rules', () => {
  it('refuses a rule scoped to no trunk, naming the risk', async () => {
    const res = await gw.request('POST', '/api/dispatch-rules', {
      name: 'open',
      type: 'individual',
      trunk_ids: [],
    });
    expect(res.status).toBe(400);
    expect(res.body.fields[0].field).toBe('trunk_ids');
    expect(res.body.message).toContain('any source');
  });

  it('writes the rule to LiveKit scoped to the trunk, with the agent to dispatch', async () => {
    const profile = await gw.request('POST', '/api/agents', { name: 'reception', settings: {} });
    const res = await gw.request('POST', '/api/dispatch-rules', {
      name: 'inbound-calls',
      type: 'individual',
      room_prefix: 'call-',
      agent_name: 'voice-gateway-agent',
      agent_profile_id: profile.body.id,
      trunk_ids: ['loopback_provider'],
      numbers: ['+15550001111'],
    });
    expect(res.status).toBe(201);
    expect(res.body.sync.state).toBe('in_sync');
    const [rule] = await gw.sip.listSipDispatchRule();
    const trunk = (await gw.request('GET', '/api/trunks/loopback_provider')).body;
    expect(rule!.trunkIds).toEqual([trunk.sync.livekit_inbound_trunk_id]);
    expect(rule!.numbers).toEqual(['+15550001111']);
    expect(rule!.rule?.rule.case).toBe('dispatchRuleIndividual');
    expect(rule!.roomConfig?.agents[0]?.agentName).toBe('voice-gateway-agent');
    expect(JSON.parse(rule!.roomConfig!.agents[0]!.metadata)).toMatchObject({
      agent_profile_id: profile.body.id,
    });
  });

  it('sends a sipp INVITE to a room named with our prefix', async () => {
    // Rooms of earlier files' calls may linger in the shared LiveKit: look only at new ones.
    const before = new Set((await rooms.listRooms()).map((r) => r.name));
    const call = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: '+15550001111',
      timeoutSeconds: 15,
    });
    try {
      const room = await eventually(async () => {
        const list = await rooms.listRooms();
        return list.find((r) => !before.has(r.name) && r.name.startsWith('call-'));
      }, 12_000);
      expect(room, 'LiveKit created no call- room for the INVITE').toBeDefined();
      expect(room!.name).toMatch(/^call-_sipp_/);
      const participants = await rooms.listParticipants(room!.name);
      const caller = participants.find((p) => p.attributes['sip.trunkPhoneNumber']);
      expect(caller?.attributes['sip.trunkPhoneNumber']).toBe('+15550001111');
    } finally {
      call.stop();
      await call.done;
    }
  });

  it('a number outside the rule gets no room', async () => {
    const before = new Set((await rooms.listRooms()).map((r) => r.name));
    const call = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: '+15550002222',
      timeoutSeconds: 5,
    });
    const result = await call.done;
    expect(result.code).not.toBe(0);
    const after = (await rooms.listRooms()).filter(
      (r) => !before.has(r.name) && r.name.startsWith('call-'),
    );
    expect(after).toEqual([]);
  });

  it('LiveKit refusing a conflicting rule stores nothing and says why', async () => {
    const res = await gw.request('POST', '/api/dispatch-rules', {
      name: 'duplicate',
      type: 'individual',
      trunk_ids: ['loopback_provider'],
      numbers: ['+15550001111'],
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('livekit_rejected');
    expect(res.body.stored).toBe(false);
    expect((await gw.request('GET', '/api/dispatch-rules/duplicate')).status).toBe(404);
    expect(await gw.sip.listSipDispatchRule()).toHaveLength(1);
  });

  it('a trunk used by a rule cannot be deleted until the rule lets go of it', async () => {
    const res = await gw.request('DELETE', '/api/trunks/loopback_provider');
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('inbound-calls');
    expect((await gw.request('DELETE', '/api/dispatch-rules/inbound-calls')).status).toBe(204);
    expect(await gw.sip.listSipDispatchRule()).toHaveLength(0);
    expect((await gw.request('DELETE', '/api/trunks/loopback_provider')).status).toBe(204);
  });
});
