import { AgentDispatchClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sample, scrape } from './helpers/metrics.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/wait.js';
import { receivedRequest, startSippUas, type SippUas } from './sipp/uas.js';

const stack = inject('stack');
type CallMessage = { type: string; timestamp: string; data: { call: { id: string } } };
const FROM = '+15550100100';
const TO = '+15551230001';
let gw: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  // On the port the real livekit-server posts its webhooks to: they must update our records.
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' },
  });
  await clearLivekitSip(gw.sip);
  receiver = await startReceiver(() => 200);
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: 'sipp_out',
    name: 'sipp UAS',
    provider: 'generic',
    supports_inbound: false,
    proxy_address: '127.0.0.1:5060',
    numbers: [FROM],
  });
  expect(trunk.status).toBe(201);
  const inboundOnly = await gw.request('POST', '/api/trunks', {
    trunk_id: 'inbound_only',
    name: 'Inbound only',
    provider: 'generic',
    numbers: ['+15550100199'],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(inboundOnly.status).toBe(201);
});
afterAll(async () => {
  await receiver?.close();
  await gw?.close();
});

/** Points the outbound trunk (through our API, so LiveKit too) at this sipp UAS. */
async function pointTrunkAt(uas: SippUas) {
  const res = await gw.request('PUT', '/api/trunks/sipp_out', {
    proxy_address: `127.0.0.1:${uas.port}`,
  });
  expect(res.status).toBe(200);
  expect(res.body.sync.state).toBe('in_sync');
}

/** LiveKit's webhook of `event` for `room` reached us (stored once applied). */
async function livekitEventSeen(room: string, event: string) {
  return eventually(async () => {
    const row = await gw.api.database.db
      .selectFrom('livekitEvents')
      .select('id')
      .where('roomName', '=', room)
      .where('event', '=', event)
      .where('appliedAt', 'is not', null)
      .executeTakeFirst();
    return row ?? undefined;
  }, 15_000);
}

async function recordsInRoom(room: string) {
  return gw.api.database.db.selectFrom('calls').selectAll().where('roomName', '=', room).execute();
}

/**
 * POST /api/calls. LiveKit SIP refuses new calls while the whole machine's CPU is above its
 * max_cpu_utilization (503 "cpu exhausted"); on a busy shared box that is retried, bounded.
 */
async function dial(body: Record<string, unknown>) {
  for (let attempt = 0; ; attempt += 1) {
    const res = await gw.request('POST', '/api/calls', body);
    const overloaded = res.status === 503 && String(res.body?.message).includes('cpu exhausted');
    if (!overloaded || attempt >= 30) return res;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function dialRejected(scenario: string) {
  const uas = await startSippUas(scenario, { timeoutSeconds: 90 });
  try {
    await pointTrunkAt(uas);
    const res = await dial({ trunk_id: 'sipp_out', to_number: TO });
    const sipp = await uas.done;
    expect(sipp.code, `sipp did not see its scenario through: ${sipp.stderr}`).toBe(0);
    return res;
  } finally {
    uas.stop();
  }
}

async function expectEndedWith(callId: string, endReason: string) {
  const call = (await gw.request('GET', `/api/calls/${callId}`)).body;
  expect(call, JSON.stringify(call.events)).toMatchObject({
    status: 'failed',
    end_reason: endReason,
    answered_at: null,
  });
  // LiveKit's participant_left comes after our answer: it must neither reopen, rename nor
  // duplicate the record.
  expect(await livekitEventSeen(call.room_name, 'participant_left')).toBeDefined();
  const rows = await recordsInRoom(call.room_name);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ status: 'failed', endReason });
  return call;
}

describe('outbound calls through the API', { timeout: 150_000 }, () => {
  it('dials the sipp UAS through the outbound trunk with the agent dispatched, lists it active, and hangs up with a BYE', async () => {
    const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 90 });
    try {
      await pointTrunkAt(uas);
      const res = await dial({
        trunk_id: 'sipp_out',
        to_number: TO,
        webhook_url: receiver.url,
        ringing_timeout_seconds: 10,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const call = res.body;
      expect(call).toMatchObject({
        direction: 'outbound',
        channel: 'sip',
        status: 'active',
        from_number: FROM,
        to_number: TO,
        participant_identity: 'callee',
      });
      expect(call.room_name).toBe(`call-out-${call.id}`);
      expect(call.answered_at).not.toBeNull();
      expect(call.sip_call_id).toBeTruthy();

      const invite = receivedRequest(uas.messages(), 'INVITE');
      expect(invite, 'sipp saw no INVITE').toBeDefined();
      expect(invite).toMatch(new RegExp(`INVITE sip:\\${TO}@127\\.0\\.0\\.1`));
      expect(invite).toMatch(new RegExp(`From:[^\\n]*\\${FROM}`));

      // The agent was asked into the room before the call was dialled.
      const dispatches = await new AgentDispatchClient(
        stack.livekitUrl,
        stack.apiKey,
        stack.apiSecret,
      ).listDispatch(call.room_name);
      expect(dispatches.map((d) => d.agentName)).toEqual(['voice-gateway-agent']);
      expect(JSON.parse(dispatches[0]!.metadata)).toEqual({
        agent_profile_id: null,
        call_id: call.id,
        direction: 'outbound',
        to_number: TO,
      });

      const active = await gw.request('GET', '/api/calls/active?direction=outbound');
      expect(active.status).toBe(200);
      expect(active.body).toMatchObject({ page: 1, per_page: 50, total: 1 });
      expect(active.body.items[0]).toMatchObject({
        id: call.id,
        room_name: call.room_name,
        participant_identity: 'callee',
      });

      // LiveKit's own participant_joined lands on this record, not on a second one.
      expect(await livekitEventSeen(call.room_name, 'participant_joined')).toBeDefined();
      expect(await recordsInRoom(call.room_name)).toHaveLength(1);

      const hangup = await gw.request('POST', `/api/calls/${call.id}/hangup`);
      expect(hangup.status, JSON.stringify(hangup.body)).toBe(200);
      expect(hangup.body).toMatchObject({
        status: 'ended',
        end_reason: 'api_hangup',
        hung_up_by: 'api',
      });
      const sipp = await uas.done;
      expect(sipp.code, `sipp did not get its BYE: ${sipp.stderr}`).toBe(0);
      expect(receivedRequest(uas.messages(), 'BYE')).toBeDefined();

      expect(await livekitEventSeen(call.room_name, 'participant_left')).toBeDefined();
      const rows = await recordsInRoom(call.room_name);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'ended', endReason: 'api_hangup', hungUpBy: 'api' });
      const after = await gw.request('GET', '/api/calls/active');
      expect(after.body.items.map((c: { id: string }) => c.id)).not.toContain(call.id);

      const again = await gw.request('POST', `/api/calls/${call.id}/hangup`);
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('call_ended');
      expect(again.body.message).toContain('already ended (api_hangup');

      // The per-call webhook_url heard the whole call (deliveries may overtake each other:
      // receivers order by the event's timestamp).
      const delivered = await eventually(async () => {
        const mine = receiver.requests
          .map((r) => JSON.parse(r.body) as CallMessage)
          .filter((m) => m.data.call.id === call.id);
        return mine.length >= 3 ? mine : undefined;
      }, 15_000);
      expect(
        delivered
          ?.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
          .map((m) => m.type),
      ).toEqual(['call.started', 'call.answered', 'call.ended']);

      const audit = await gw.request('GET', `/api/audit?entity_type=call&entity_id=${call.id}`);
      expect(audit.body.items.map((e: { action: string }) => e.action).sort()).toEqual([
        'call.create',
        'call.hangup',
      ]);
    } finally {
      uas.stop();
    }
  });

  it('a busy callee (SIP 486) is a 409 sip_busy naming the SIP status; the record ends busy', async () => {
    const counts = async () => {
      const text = await scrape(`${gw.internalUrl}/metrics`);
      return {
        busy: sample(text, 'voice_gateway_sip_failures_total', {
          operation: 'dial',
          sip_status: '486',
        }),
        // Summed over end reasons: LiveKit's webhook may close the record (with its reason)
        // before the API writes `busy`, and a counter counts the close once.
        ended: sample(text, 'voice_gateway_calls_ended_total', {
          direction: 'outbound',
          outcome: 'failed',
        }),
      };
    };
    const before = await counts();
    const res = await dialRejected('uas-busy-486.xml');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'sip_busy', sip_status: 486, sip_reason: 'Busy Here' });
    expect(res.body.message).toBe('the callee is busy (SIP 486 Busy Here)');
    const call = await expectEndedWith(res.body.call_id, 'busy');
    expect(call.hung_up_by).toBe('callee');
    // Prometheus sees the SIP code and the outcome.
    const after = await counts();
    expect((after.busy ?? 0) - (before.busy ?? 0)).toBe(1);
    expect((after.ended ?? 0) - (before.ended ?? 0)).toBe(1);
  });

  it('an unknown number (SIP 404) is a 422 sip_number_not_found; the record ends number_not_found', async () => {
    const res = await dialRejected('uas-not-found-404.xml');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: 'sip_number_not_found', sip_status: 404 });
    expect(res.body.message).toContain('SIP 404');
    await expectEndedWith(res.body.call_id, 'number_not_found');
  });

  it('a provider refusing the call (SIP 403) is a 502 sip_forbidden that says to check the trunk', async () => {
    const res = await dialRejected('uas-forbidden-403.xml');
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: 'sip_forbidden', sip_status: 403 });
    expect(res.body.message).toContain("check the trunk's credentials");
    await expectEndedWith(res.body.call_id, 'forbidden');
  });

  it('a callee who never answers is a 504 sip_no_answer after the ringing timeout', async () => {
    const uas = await startSippUas('uas-no-answer.xml', { timeoutSeconds: 90 });
    try {
      await pointTrunkAt(uas);
      const res = await dial({ trunk_id: 'sipp_out', to_number: TO, ringing_timeout_seconds: 3 });
      expect(res.status, JSON.stringify(res.body)).toBe(504);
      expect(res.body.error).toBe('sip_no_answer');
      const sipp = await uas.done;
      expect(sipp.code, `sipp did not see its scenario through: ${sipp.stderr}`).toBe(0);
      expect(receivedRequest(uas.messages(), 'CANCEL'), 'LiveKit sent no CANCEL').toBeDefined();
      const call = await expectEndedWith(res.body.call_id, 'no_answer');
      const rang = Date.parse(call.ended_at) - Date.parse(call.started_at);
      expect(rang).toBeGreaterThanOrEqual(2500);
    } finally {
      uas.stop();
    }
  });

  it('refuses bad requests, naming the field, and dials nothing', async () => {
    const count = async () =>
      (
        await gw.api.database.db
          .selectFrom('calls')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;
    const before = await count();
    const cases: Array<[unknown, number, string]> = [
      [{ trunk_id: 'sipp_out', to_number: '12' }, 400, 'to_number'],
      [{ to_number: TO }, 400, 'trunk_id'],
      [{ from_number: '+15550109999', to_number: TO }, 400, 'from_number'],
      [{ trunk_id: 'nope', to_number: TO }, 400, 'trunk_id'],
      [{ trunk_id: 'sipp_out', to_number: TO, webhook_url: 'ftp://x.example' }, 400, 'webhook_url'],
      [
        { trunk_id: 'sipp_out', to_number: TO, agent_profile_name: 'ghost' },
        400,
        'agent_profile_name',
      ],
      [
        { trunk_id: 'sipp_out', to_number: TO, ringing_timeout_seconds: 0 },
        400,
        'ringing_timeout_seconds',
      ],
    ];
    for (const [body, status, field] of cases) {
      const res = await gw.request('POST', '/api/calls', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    const inbound = await gw.request('POST', '/api/calls', {
      trunk_id: 'inbound_only',
      to_number: TO,
    });
    expect(inbound.status).toBe(409);
    expect(inbound.body.error).toBe('trunk_not_outbound');
    const viewer = await gw.keyFor('viewer');
    const forbidden = await gw.request(
      'POST',
      '/api/calls',
      { trunk_id: 'sipp_out', to_number: TO },
      viewer,
    );
    expect(forbidden.status).toBe(403);
    expect(await count()).toBe(before);
  });
});
