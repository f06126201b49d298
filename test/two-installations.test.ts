import { Room, dispose } from '@livekit/rtc-node';
import { ParticipantInfo_Kind, type SIPDispatchRuleInfo } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GatewaySipClient } from '../src/livekit/index.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

// Two gateways (say staging and production), each with its own database, share one LiveKit.
let production: TestGateway;
let staging: TestGateway;

async function provision(gw: TestGateway, slug: string, number: string): Promise<void> {
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: slug,
    name: `Trunk ${slug}`,
    provider: 'twilio',
    numbers: [number],
  });
  expect(trunk.status).toBe(201);
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: `rule-${slug}`,
    type: 'individual',
    trunk_ids: [slug],
  });
  expect(rule.status).toBe(201);
}

const sync = async (gw: TestGateway, slug: string) =>
  (await gw.request('GET', `/api/trunks/${slug}`)).body.sync as {
    livekit_inbound_trunk_id: string;
    state: string;
  };

async function livekitIds(gw: TestGateway) {
  const [inbound, rules] = await Promise.all([
    gw.sip.listSipInboundTrunk(),
    gw.sip.listSipDispatchRule(),
  ]);
  return {
    trunks: inbound.map((t) => t.sipTrunkId),
    rules: rules.map((r) => r.sipDispatchRuleId),
  };
}

const stack = inject('stack');
// The calls reconcile runs only when a test asks for it (POST /api/calls/reconcile).
const manualCallsReconcile = { CALLS_RECONCILE_INTERVAL_SECONDS: '0' };

beforeAll(async () => {
  // Production listens where LiveKit sends its webhooks: it hears staging's calls' events too.
  production = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      ...manualCallsReconcile,
    },
  });
  await clearLivekitSip(production.sip);
  staging = await startTestGateway({
    env: { GATEWAY_INSTALLATION_ID: 'staging', ...manualCallsReconcile },
  });
  await provision(production, 'prod_main', '+14155550110');
  await provision(staging, 'staging_main', '+14155550120');
});
afterAll(async () => {
  await staging?.close();
  await production?.close();
  if (production) await clearLivekitSip(production.sip);
  await dispose();
});

describe('two gateways on one LiveKit', () => {
  it("marks each object with its installation's id", async () => {
    const stagingTrunk = await sync(staging, 'staging_main');
    const [lk] = await staging.sip.listSipInboundTrunk({
      trunkIds: [stagingTrunk.livekit_inbound_trunk_id],
    });
    expect(JSON.parse(lk!.metadata)).toMatchObject({
      managed_by: 'voice-gateway',
      installation: 'staging',
      kind: 'inbound',
    });
    const report = await production.request('POST', '/api/reconcile?mode=report');
    // Unset GATEWAY_INSTALLATION_ID: the database's own id, a UUID.
    expect(report.body.installation).toMatch(/^[0-9a-f-]{36}$/);
    const prodTrunk = await sync(production, 'prod_main');
    const [prodLk] = await production.sip.listSipInboundTrunk({
      trunkIds: [prodTrunk.livekit_inbound_trunk_id],
    });
    expect(JSON.parse(prodLk!.metadata).installation).toBe(report.body.installation);
  });

  it("reconciling one deletes none of the other's trunks and rules, and reports them", async () => {
    const before = await livekitIds(production);
    expect(before.trunks).toHaveLength(2);
    expect(before.rules).toHaveLength(2);

    const prodReport = await production.request('POST', '/api/reconcile');
    expect(prodReport.status).toBe(200);
    expect(prodReport.body.drift).toEqual([]);
    const stagingTrunk = await sync(staging, 'staging_main');
    expect(prodReport.body.unmanaged).toContainEqual(
      expect.objectContaining({
        kind: 'inbound',
        livekit_id: stagingTrunk.livekit_inbound_trunk_id,
        owner: 'other_installation',
      }),
    );
    const stagingReport = await staging.request('POST', '/api/reconcile');
    expect(stagingReport.body.drift).toEqual([]);
    expect(stagingReport.body.unmanaged.map((u: { owner: string }) => u.owner)).toEqual([
      'other_installation',
      'other_installation',
    ]);

    expect(await livekitIds(production)).toEqual(before);
    expect((await sync(staging, 'staging_main')).state).toBe('in_sync');
    expect((await sync(production, 'prod_main')).state).toBe('in_sync');
  });

  it("deletes an orphan carrying its own id and leaves the other's and legacy ones alone", async () => {
    const installation = (await production.request('POST', '/api/reconcile?mode=report')).body
      .installation as string;
    const orphanOf = (owner: Record<string, string>, number: string) =>
      production.sip.createSipInboundTrunk(`left behind ${number}`, [number], {
        allowedAddresses: ['192.0.2.9'],
        metadata: JSON.stringify({
          managed_by: 'voice-gateway',
          ...owner,
          kind: 'inbound',
          id: '00000000-0000-0000-0000-00000000000' + number.slice(-1),
        }),
      });
    const prodOrphan = await orphanOf({ installation }, '+14155550131');
    const stagingOrphan = await orphanOf({ installation: 'staging' }, '+14155550132');
    const legacy = await orphanOf({}, '+14155550133');

    // Staging's reconcile deletes only its own orphan.
    const stagingReport = await staging.request('POST', '/api/reconcile');
    expect(stagingReport.body.drift).toEqual([
      expect.objectContaining({
        livekit_id: stagingOrphan.sipTrunkId,
        problem: 'orphan',
        action: 'repaired',
      }),
    ]);
    expect(stagingReport.body.unmanaged).toContainEqual(
      expect.objectContaining({ livekit_id: legacy.sipTrunkId, owner: 'legacy' }),
    );
    let ids = (await production.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId);
    expect(ids).not.toContain(stagingOrphan.sipTrunkId);
    expect(ids).toContain(prodOrphan.sipTrunkId);

    const prodReport = await production.request('POST', '/api/reconcile');
    expect(prodReport.body.drift).toEqual([
      expect.objectContaining({ livekit_id: prodOrphan.sipTrunkId, action: 'repaired' }),
    ]);
    ids = (await production.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId);
    expect(ids).not.toContain(prodOrphan.sipTrunkId);
    // A legacy marker names no installation: it could be either gateway's, so neither deletes it.
    expect(ids).toContain(legacy.sipTrunkId);
    expect(ids).toHaveLength(3);
    await production.sip.deleteSipTrunk(legacy.sipTrunkId);
  });

  it('adopts a legacy object naming one of its rows and marks it as its own', async () => {
    const trunk = (await production.request('GET', '/api/trunks/prod_main')).body;
    const old = trunk.sync.livekit_inbound_trunk_id as string;
    const [current] = await production.sip.listSipInboundTrunk({ trunkIds: [old] });
    // What a gateway before installation ids left: the same object, its marker naming no installation.
    await production.sip.deleteSipTrunk(old);
    const legacy = await production.sip.createSipInboundTrunk(current!.name, current!.numbers, {
      allowedAddresses: current!.allowedAddresses,
      metadata: JSON.stringify({ managed_by: 'voice-gateway', kind: 'inbound', id: trunk.id }),
    });

    // Staging leaves it alone; production adopts it (by its row id) and writes its own marker.
    await staging.request('POST', '/api/reconcile');
    expect((await production.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId)).toContain(
      legacy.sipTrunkId,
    );
    const report = await production.request('POST', '/api/reconcile');
    expect(report.body.drift).toContainEqual(
      expect.objectContaining({ kind: 'inbound', problem: 'changed', action: 'repaired' }),
    );
    const after = await sync(production, 'prod_main');
    expect(after.livekit_inbound_trunk_id).toBe(legacy.sipTrunkId);
    const [adopted] = await production.sip.listSipInboundTrunk({
      trunkIds: [legacy.sipTrunkId],
    });
    expect(JSON.parse(adopted!.metadata).installation).toBe(report.body.installation);
    // The rule follows the adopted trunk, and staging's objects are still there.
    const rules = await production.sip.listSipDispatchRule();
    expect(rules.map((r) => r.trunkIds).flat()).toContain(legacy.sipTrunkId);
    expect(rules.map((r) => r.trunkIds).flat()).toContain(
      (await sync(staging, 'staging_main')).livekit_inbound_trunk_id,
    );
    expect((await production.request('POST', '/api/reconcile')).body.drift).toEqual([]);
  });
});

describe('calls on one LiveKit shared by two gateways', () => {
  const rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
  let receiver: Receiver;
  let prodRule: { id: string; sync: { livekit_dispatch_rule_id: string } };
  const PROD_NUMBER = '+15550110001';
  const STAGING_NUMBER = '+15550120001';

  async function provisionCalls(gw: TestGateway, slug: string, number: string, prefix: string) {
    const trunk = await gw.request('POST', '/api/trunks', {
      trunk_id: slug,
      name: `Calls ${slug}`,
      provider: 'generic',
      numbers: [number],
      allowed_addresses: ['127.0.0.1'],
    });
    expect(trunk.status).toBe(201);
    const rule = await gw.request('POST', '/api/dispatch-rules', {
      name: `calls-${slug}`,
      type: 'individual',
      room_prefix: prefix,
      trunk_ids: [slug],
    });
    expect(rule.status).toBe(201);
    return rule.body as { id: string; sync: { livekit_dispatch_rule_id: string } };
  }

  /** The room LiveKit SIP put a call in (its dispatch rule's prefix) and the SIP caller in it. */
  async function sipCallIn(prefix: string) {
    return eventually(async () => {
      for (const room of await rooms.listRooms()) {
        if (!room.name.startsWith(`${prefix}_`)) continue;
        const caller = (await rooms.listParticipants(room.name)).find(
          (p) => p.kind === ParticipantInfo_Kind.SIP,
        );
        if (caller) return { room: room.name, caller };
      }
      return undefined;
    }, 15_000);
  }

  /** Ends every call left in the rules' rooms, so a failed test leaves none to the next. */
  async function dropCallRooms() {
    for (const room of await rooms.listRooms())
      if (/^(prod|stg)_/.test(room.name)) await rooms.deleteRoom(room.name).catch(() => undefined);
  }

  const callsIn = async (gw: TestGateway, room: string) =>
    gw.api.database.db.selectFrom('calls').selectAll().where('roomName', '=', room).execute();
  /** LiveKit's events about `room` the gateway received and stored. */
  const eventsAbout = async (gw: TestGateway, room: string) =>
    (
      await gw.api.database.db
        .selectFrom('livekitEvents')
        .select('event')
        .where('roomName', '=', room)
        .execute()
    ).map((e) => e.event);
  const callMessages = async (gw: TestGateway) =>
    (
      await gw.api.database.db
        .selectFrom('webhookMessages')
        .select('payload')
        .where('eventType', 'like', 'call.%')
        .execute()
    ).map((m) => m.payload);

  beforeAll(async () => {
    prodRule = await provisionCalls(production, 'prod_calls', PROD_NUMBER, 'prod');
    await provisionCalls(staging, 'staging_calls', STAGING_NUMBER, 'stg');
    receiver = await startReceiver(() => 200);
    const endpoint = await production.request('POST', '/api/webhook-endpoints', {
      url: receiver.url,
      event_types: ['call.started', 'call.answered', 'call.ended'],
    });
    expect(endpoint.status).toBe(201);
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("a call through the other gateway's trunk makes no record, no webhook and no hangup here", async () => {
    const sipp = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: STAGING_NUMBER,
      timeoutSeconds: 20,
    });
    try {
      const call = await sipCallIn('stg');
      expect(call, 'LiveKit SIP put no caller in a room of the staging rule').toBeDefined();
      // LiveKit copied the staging rule's attributes onto the caller.
      expect(call!.caller.attributes['voice_gateway.installation']).toBe('staging');
      // Production received LiveKit's event about the caller, stored it, and applied nothing.
      const heard = await eventually(async () =>
        (await eventsAbout(production, call!.room)).includes('participant_joined')
          ? true
          : undefined,
      );
      expect(heard, 'production never received the participant_joined event').toBe(true);
      expect(await callsIn(production, call!.room)).toEqual([]);
      // Production's reconcile sees the caller in LiveKit's lists and leaves it alone.
      const prodReconcile = await production.request('POST', '/api/calls/reconcile');
      expect(prodReconcile.status).toBe(200);
      expect(prodReconcile.body).toEqual({ closed: 0, opened: 0, nodeLost: 0 });
      expect(await callsIn(production, call!.room)).toEqual([]);
      // Staging (which hears no webhooks here) records its own call from its reconcile.
      const stagingReconcile = await staging.request('POST', '/api/calls/reconcile');
      expect(stagingReconcile.body.opened).toBe(1);
      expect(await callsIn(staging, call!.room)).toEqual([
        expect.objectContaining({ toNumber: STAGING_NUMBER, status: 'ringing' }),
      ]);
      // Not hung up: the caller is still in its room after production's reconcile.
      const still = await rooms.listParticipants(call!.room);
      expect(still.map((p) => p.sid)).toContain(call!.caller.sid);

      // Staging ends its call; production hears it leave and still records nothing.
      await rooms.deleteRoom(call!.room);
      const left = await eventually(async () =>
        (await eventsAbout(production, call!.room)).includes('participant_left') ? true : undefined,
      );
      expect(left, 'production never received the participant_left event').toBe(true);
      expect(await callsIn(production, call!.room)).toEqual([]);
      expect(await callMessages(production)).toEqual([]);
      expect(receiver.requests).toEqual([]);
      // Staging closes its own record from its reconcile (it heard no end event).
      expect((await staging.request('POST', '/api/calls/reconcile')).body).toEqual({
        closed: 1,
        opened: 0,
        nodeLost: 0,
      });
    } finally {
      await dropCallRooms();
      sipp.stop();
      await sipp.done;
    }
  });

  it('still records its own calls and tells its customers, which the other gateway does not', async () => {
    const sipp = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: PROD_NUMBER,
      timeoutSeconds: 20,
    });
    try {
      const call = await sipCallIn('prod');
      expect(call, 'LiveKit SIP put no caller in a room of the production rule').toBeDefined();
      const installation = (await production.request('POST', '/api/reconcile?mode=report')).body
        .installation as string;
      expect(call!.caller.attributes['voice_gateway.installation']).toBe(installation);
      const record = await eventually(async () => (await callsIn(production, call!.room))[0]);
      expect(record).toMatchObject({ toNumber: PROD_NUMBER, channel: 'sip', direction: 'inbound' });
      const stagingReconcile = await staging.request('POST', '/api/calls/reconcile');
      expect(stagingReconcile.body).toEqual({ closed: 0, opened: 0, nodeLost: 0 });
      expect(await callsIn(staging, call!.room)).toEqual([]);
      const started = await eventually(async () =>
        receiver.requests.find((r) => JSON.parse(r.body).type === 'call.started'),
      );
      expect(JSON.parse(started!.body).data.call.room_name).toBe(call!.room);

      await rooms.deleteRoom(call!.room);
      const ended = await eventually(async () => {
        const [row] = await callsIn(production, call!.room);
        return row?.endedAt ? row : undefined;
      });
      expect(ended, 'production did not close its own call').toBeDefined();
    } finally {
      await dropCallRooms();
      sipp.stop();
      await sipp.done;
    }
  });

  it("a web user joining with one gateway's token is that gateway's call only", async () => {
    const roomName = `web-shared-${Date.now()}`;
    const join = await production.request('POST', `/api/rooms/${roomName}/join`, {
      identity: 'web-shared-user',
    });
    expect(join.status).toBe(200);
    const room = new Room();
    await room.connect(stack.livekitWsUrl, join.body.token, {
      autoSubscribe: false,
      dynacast: false,
    });
    try {
      const record = await eventually(async () => (await callsIn(production, roomName))[0]);
      expect(record).toMatchObject({ channel: 'web', participantIdentity: 'web-shared-user' });
      const [lk] = await rooms.listParticipants(roomName);
      expect(lk!.attributes['voice_gateway.installation']).toBe(
        (await production.request('POST', '/api/reconcile?mode=report')).body.installation,
      );
      expect((await staging.request('POST', '/api/calls/reconcile')).body.opened).toBe(0);
      expect(await callsIn(staging, roomName)).toEqual([]);
    } finally {
      await room.disconnect();
      await rooms.deleteRoom(roomName).catch(() => undefined);
    }
  });

  it('gives a dispatch rule written before calls were marked the attribute, and records its calls meanwhile', async () => {
    const sip = new GatewaySipClient(stack.livekitUrl, stack.apiKey, stack.apiSecret, 10);
    const ruleId = prodRule.sync.livekit_dispatch_rule_id;
    const [current] = await sip.listSipDispatchRule({ dispatchRuleIds: [ruleId] });
    expect(current!.attributes['voice_gateway.installation']).toBeDefined();
    // What an older gateway wrote: a marker naming no installation, and no attributes.
    const legacy: SIPDispatchRuleInfo = current!.clone();
    legacy.metadata = JSON.stringify({
      managed_by: 'voice-gateway',
      kind: 'rule',
      id: prodRule.id,
    });
    legacy.attributes = {};
    await sip.replaceDispatchRuleInfo(ruleId, legacy);

    // A call through it carries no mark: production records it because the trunk is its own.
    const sipp = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: PROD_NUMBER,
      timeoutSeconds: 20,
    });
    try {
      const call = await sipCallIn('prod');
      expect(call).toBeDefined();
      expect(call!.caller.attributes['voice_gateway.installation']).toBeUndefined();
      expect(
        await eventually(async () => (await callsIn(production, call!.room))[0]),
      ).toBeDefined();
      expect((await staging.request('POST', '/api/calls/reconcile')).body.opened).toBe(0);
      await rooms.deleteRoom(call!.room);
    } finally {
      await dropCallRooms();
      sipp.stop();
      await sipp.done;
    }

    const report = await production.request('POST', '/api/reconcile');
    expect(report.body.drift).toContainEqual(
      expect.objectContaining({
        kind: 'rule',
        problem: 'changed',
        fields: expect.arrayContaining(['attributes', 'metadata']),
        action: 'repaired',
      }),
    );
    const [repaired] = await sip.listSipDispatchRule({ dispatchRuleIds: [ruleId] });
    expect(repaired!.attributes['voice_gateway.installation']).toBe(report.body.installation);
    expect((await production.request('POST', '/api/reconcile')).body.drift).toEqual([]);

    // What the version before this one wrote: its own marker, but no attributes.
    const unmarked: SIPDispatchRuleInfo = repaired!.clone();
    unmarked.attributes = {};
    await sip.replaceDispatchRuleInfo(ruleId, unmarked);
    expect((await production.request('POST', '/api/reconcile')).body.drift).toEqual([
      expect.objectContaining({
        kind: 'rule',
        problem: 'changed',
        fields: ['attributes'],
        action: 'repaired',
      }),
    ]);
    const [again] = await sip.listSipDispatchRule({ dispatchRuleIds: [ruleId] });
    expect(again!.attributes).toEqual({ 'voice_gateway.installation': report.body.installation });
  });
});
