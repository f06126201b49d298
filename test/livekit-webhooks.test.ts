import { Room, dispose } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';
import { livekitEventBody, livekitSignature } from './helpers/livekit-webhook.js';

const stack = inject('stack');
let gw: TestGateway;
let rooms: RoomServiceClient;

beforeAll(async () => {
  // This gateway listens where the real livekit-server sends its webhooks.
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), LIVEKIT_WEBHOOK_CLOCK_TOLERANCE_SECONDS: '0' },
  });
  rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
});
afterAll(async () => {
  await gw?.close();
  await dispose();
});

/** Events this file posted itself (ids EV_test_*), not the shared stack's real webhooks. */
async function eventsStored(): Promise<number> {
  const row = await gw.api.database.db
    .selectFrom('livekitEvents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('id', 'like', 'EV_test_%')
    .executeTakeFirstOrThrow();
  return row.n;
}

async function post(
  body: string,
  authorization?: string,
  contentType = 'application/webhook+json',
) {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(`${gw.url}/webhooks/livekit`, { method: 'POST', headers, body });
  return {
    status: response.status,
    body: (await response.json().catch(() => undefined)) as Record<string, unknown>,
  };
}

describe('LiveKit webhooks from the real livekit-server', () => {
  it('a web participant joining, leaving and the room being deleted makes a correct call record', async () => {
    const roomName = `web-call-${Date.now()}`;
    const token = new AccessToken(stack.apiKey, stack.apiSecret, { identity: 'web-user-1' });
    token.addGrant({ roomJoin: true, room: roomName });
    const room = new Room();
    await room.connect(stack.livekitWsUrl, await token.toJwt(), {
      autoSubscribe: false,
      dynacast: false,
    });
    const opened = await eventually(async () => {
      const res = await gw.request('GET', '/api/calls?channel=web&status=active');
      return res.body.items.find((c: { room_name: string }) => c.room_name === roomName);
    });
    expect(opened, 'participant_joined did not open a call record').toBeDefined();
    expect(opened).toMatchObject({
      direction: 'inbound',
      channel: 'web',
      participant_identity: 'web-user-1',
    });

    await room.disconnect();
    await rooms.deleteRoom(roomName).catch(() => undefined);
    const ended = await eventually(async () => {
      const res = await gw.request('GET', `/api/calls/${opened.id}`);
      return res.body.status === 'ended' ? res.body : undefined;
    });
    expect(ended, 'participant_left did not close the call record').toBeDefined();
    expect(ended).toMatchObject({ end_reason: 'caller_hangup', hung_up_by: 'caller' });
    expect(ended.duration_seconds).toBeGreaterThanOrEqual(0);
    expect(ended.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['joined', 'ended']),
    );
    const stored = await gw.api.database.db
      .selectFrom('livekitEvents')
      .select('event')
      .where('roomName', '=', roomName)
      .execute();
    expect(stored.map((e) => e.event)).toEqual(
      expect.arrayContaining(['room_started', 'participant_joined', 'participant_left']),
    );
  });
});

describe('a sipp call through LiveKit SIP', () => {
  it('builds a SIP call record with the trunk, both numbers and how it ended', async () => {
    await clearLivekitSip(gw.sip);
    const trunk = await gw.request('POST', '/api/trunks', {
      trunk_id: 'webhook_trunk',
      name: 'Webhook trunk',
      provider: 'generic',
      numbers: ['+15550109999'],
      allowed_addresses: ['127.0.0.1'],
    });
    expect(trunk.status).toBe(201);
    const rule = await gw.request('POST', '/api/dispatch-rules', {
      name: 'webhook-rule',
      type: 'individual',
      room_prefix: 'call-',
      trunk_ids: ['webhook_trunk'],
    });
    expect(rule.status).toBe(201);
    // No agent answers yet (the agent issue), so the caller rings until sipp gives up.
    const call = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: '+15550109999',
      timeoutSeconds: 4,
    });
    const ringing = await eventually(async () => {
      const res = await gw.request('GET', '/api/calls?channel=sip&number=%2B15550109999');
      return res.body.items[0];
    });
    expect(ringing, 'no call record for the sipp call').toBeDefined();
    expect(ringing).toMatchObject({
      direction: 'inbound',
      channel: 'sip',
      to_number: '+15550109999',
      trunk_id: trunk.body.id,
      livekit_trunk_id: trunk.body.sync.livekit_inbound_trunk_id,
    });
    expect(ringing.sip_call_id).toMatch(/^SCL_/);
    // Hang up from our side, as an agent or the API would: the room goes, the caller with it.
    await rooms.deleteRoom(ringing.room_name);
    const ended = await eventually(async () => {
      const res = await gw.request('GET', `/api/calls/${ringing.id}`);
      return res.body.ended_at ? res.body : undefined;
    });
    call.stop();
    await call.done;
    expect(ended, 'the call record was not closed when the room was deleted').toBeDefined();
    expect(ended).toMatchObject({ status: 'failed', hung_up_by: 'agent', duration_seconds: 0 });
    expect(['room_deleted', 'room_closed']).toContain(ended.end_reason);
    await gw.request('DELETE', '/api/dispatch-rules/webhook-rule');
    await gw.request('DELETE', '/api/trunks/webhook_trunk');
  });
});

describe('bad LiveKit webhooks are rejected and nothing is stored', () => {
  const body = () =>
    livekitEventBody('room_started', { room: { name: 'bad-input-room', sid: 'RM_bad' } });

  it('rejects a missing header, a wrong key, an altered body and an expired token', async () => {
    const before = await eventsStored();
    const missing = await post(body());
    expect(missing.status).toBe(401);
    expect(missing.body.reason).toBe('missing_authorization');

    const signed = body();
    const wrongKey = await post(
      signed,
      await livekitSignature(signed, stack.apiKey, 'not-the-secret-but-32-chars-long!!'),
    );
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.body.reason).toBe('bad_signature');

    const altered = await post(
      signed.replace('bad-input-room', 'other-room'),
      await livekitSignature(signed, stack.apiKey, stack.apiSecret),
    );
    expect(altered.status).toBe(401);
    expect(altered.body.reason).toBe('body_altered');

    const old = await livekitSignature(signed, stack.apiKey, stack.apiSecret, 1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const replayed = await post(signed, old);
    expect(replayed.status).toBe(401);
    expect(replayed.body.reason).toBe('token_expired');
    expect(await eventsStored()).toBe(before);
  });

  it('rejects a 5 MB body with 413 and malformed JSON with 400, and ignores unknown events', async () => {
    const before = await eventsStored();
    const huge = JSON.stringify({
      event: 'room_started',
      id: 'EV_test_huge',
      pad: 'x'.repeat(5 * 1024 * 1024),
    });
    expect(
      (await post(huge, await livekitSignature(huge, stack.apiKey, stack.apiSecret))).status,
    ).toBe(413);
    const malformed = '{"event": "room_started", ';
    const bad = await post(
      malformed,
      await livekitSignature(malformed, stack.apiKey, stack.apiSecret),
    );
    expect(bad.status).toBe(400);
    const unknown = livekitEventBody('room_exploded', { room: { name: 'x' } });
    const ignored = await post(
      unknown,
      await livekitSignature(unknown, stack.apiKey, stack.apiSecret),
    );
    expect(ignored.status).toBe(202);
    expect(ignored.body.ignored).toBe(true);
    expect(await eventsStored()).toBe(before);
  });

  it('stores a valid event once, however often it is delivered', async () => {
    const signed = body();
    const auth = await livekitSignature(signed, stack.apiKey, stack.apiSecret);
    const before = await eventsStored();
    expect((await post(signed, auth)).body.duplicate).toBe(false);
    expect((await post(signed, auth)).body.duplicate).toBe(true);
    expect(await eventsStored()).toBe(before + 1);
  });
});

describe('lost events are healed against LiveKit', () => {
  it('closes a call whose end event never came', async () => {
    const participant = {
      sid: 'PA_lost',
      identity: 'sip_+15550107777',
      kind: 'SIP',
      attributes: {
        'sip.callID': `SCL_lost_${Date.now()}`,
        'sip.phoneNumber': '+15550107777',
        'sip.trunkPhoneNumber': '+15550108888',
        'sip.callStatus': 'active',
      },
    };
    const joined = livekitEventBody('participant_joined', {
      room: { name: 'gone-room', sid: 'RM_gone' },
      participant,
    });
    expect(
      (await post(joined, await livekitSignature(joined, stack.apiKey, stack.apiSecret))).status,
    ).toBe(200);
    const open = await gw.request('GET', '/api/calls?number=%2B15550107777&status=active');
    expect(open.body.items).toHaveLength(1);
    expect(open.body.items[0]).toMatchObject({
      channel: 'sip',
      from_number: '+15550107777',
      to_number: '+15550108888',
    });

    const report = await gw.request('POST', '/api/calls/reconcile');
    expect(report.status).toBe(200);
    expect(report.body.closed).toBeGreaterThanOrEqual(1);
    const closed = await gw.request('GET', `/api/calls/${open.body.items[0].id}`);
    expect(closed.body).toMatchObject({ status: 'ended', end_reason: 'lost_end_event' });
  });

  it('opens a call whose start event never came', async () => {
    const roomName = `recovered-${Date.now()}`;
    const token = new AccessToken(stack.apiKey, stack.apiSecret, { identity: 'web-user-2' });
    token.addGrant({ roomJoin: true, room: roomName });
    const room = new Room();
    await room.connect(stack.livekitWsUrl, await token.toJwt(), {
      autoSubscribe: false,
      dynacast: false,
    });
    try {
      const db = gw.api.database.db;
      // Let the real events land, then lose them.
      await eventually(
        async () =>
          (await db
            .selectFrom('calls')
            .select('id')
            .where('roomName', '=', roomName)
            .executeTakeFirst()) ?? undefined,
      );
      await db.deleteFrom('calls').where('roomName', '=', roomName).execute();
      const report = await gw.request('POST', '/api/calls/reconcile');
      expect(report.body.opened).toBeGreaterThanOrEqual(1);
      const listed = await gw.request('GET', '/api/calls?channel=web&status=active');
      const call = listed.body.items.find((c: { room_name: string }) => c.room_name === roomName);
      expect(call).toMatchObject({ participant_identity: 'web-user-2', status: 'active' });
      const detail = await gw.request('GET', `/api/calls/${call.id}`);
      expect(detail.body.events.map((e: { type: string }) => e.type)).toContain('recovered');
    } finally {
      await room.disconnect();
      await rooms.deleteRoom(roomName).catch(() => undefined);
    }
  });
});

describe('call history API', () => {
  it('filters, paginates and exports CSV', async () => {
    const all = await gw.request('GET', '/api/calls?per_page=1&page=1');
    expect(all.status).toBe(200);
    expect(all.body.total).toBeGreaterThanOrEqual(3);
    expect(all.body.items).toHaveLength(1);
    const sip = await gw.request('GET', '/api/calls?channel=sip');
    expect(sip.body.items.every((c: { channel: string }) => c.channel === 'sip')).toBe(true);
    const future = await gw.request(
      'GET',
      `/api/calls?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`,
    );
    expect(future.body.total).toBe(0);
    const csv = await fetch(`${gw.url}/api/calls/export.csv?channel=sip`, {
      headers: { authorization: `Bearer ${gw.adminKey}` },
    });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toMatch(/^id,started_at,answered_at,ended_at,duration_seconds,direction/);
    expect(lines.length).toBe(sip.body.total + 1);
    expect(lines.join('\n')).toContain('+15550107777');
  });

  it('names bad filters', async () => {
    const res = await gw.request('GET', '/api/calls?status=dialling&number=abc&from=yesterday');
    expect(res.status).toBe(400);
    expect(res.body.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'from',
      'status',
    ]);
    expect((await gw.request('GET', '/api/calls?number=abc')).status).toBe(400);
    expect(
      (await gw.request('GET', '/api/calls/00000000-0000-0000-0000-000000000000')).status,
    ).toBe(404);
  });
});
