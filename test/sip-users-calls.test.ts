import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { SipPhone } from './helpers/sip-phone.js';
import { eventually } from './helpers/wait.js';

// A registered SIP user (a softphone) calls the AI agent through the edge: digest on the
// INVITE, its call limit, LiveKit SIP and the user's agent profile, a greeting heard.

const stack = inject('stack');
const AGENT = 'sip-users-calls-test';
let edge: EdgeProcess;
let gw: TestGateway;
let worker: TestAgentWorker;
const phones: SipPhone[] = [];
/** ringme's desk phone and mobile. */
const ringmePhones: SipPhone[] = [];
let at: { host: string; port: number };

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  at = { host: '127.0.0.1', port: edge.sipPort };
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      ...edgeEnv(edge),
      EDGE_SOURCE_ADDRESS: '127.0.0.1',
      EDGE_POLL_SECONDS: '0.5',
    },
  });
  await clearLivekitSip(gw.sip);
  const profile = await gw.request('POST', '/api/agents', {
    name: 'desk-phones',
    settings: {
      mode: 'offline',
      greeting: 'Hello desk phone user, this is the agent for SIP users.',
    },
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  const user = await gw.request('POST', '/api/sip-users', {
    username: 'deskphone',
    password: 'deskphone-password',
    max_concurrent_calls: 1,
    agent_profile_id: profile.body.id,
  });
  expect(user.status, JSON.stringify(user.body)).toBe(201);
  for (const username of ['ringme', 'away']) {
    const created = await gw.request('POST', '/api/sip-users', {
      username,
      password: `${username}-password`,
    });
    expect(created.status).toBe(201);
  }
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  // The SIP users' LiveKit trunks and rule: the next file starts from a clean LiveKit.
  if (gw) await clearLivekitSip(gw.sip);
  for (const p of phones) p.close();
  await worker?.stop();
  await gw?.close();
  await edge?.stop();
});

describe('a SIP user calls the agent', () => {
  it('registers, calls with digest, hears its profile greeting; a second call is over its limit', async () => {
    const phone = await SipPhone.open('127.0.0.1');
    phones.push(phone);
    const registered = await phone.register(at, {
      username: 'deskphone',
      password: 'deskphone-password',
    });
    expect(registered.final?.status).toBe(200);

    // A wrong password never reaches LiveKit: a new challenge.
    const ear0 = await RtpPeer.open();
    const wrong = await phone.call(at, {
      username: 'deskphone',
      password: 'not-the-password',
      number: 'agent',
      rtpPort: ear0.port,
    });
    ear0.close();
    expect(wrong.final?.status).toBe(407);

    const ear = await RtpPeer.open();
    const dialledAt = Date.now();
    const call = await phone.call(at, {
      username: 'deskphone',
      password: 'deskphone-password',
      number: 'agent',
      rtpPort: ear.port,
    });
    try {
      expect(call.final?.status, call.final?.text).toBe(200);
      const greeted = await eventually(async () => ear.heard.firstSoundAt, 20_000);
      expect(greeted, 'the SIP user heard no greeting').toBeDefined();
      console.log(`SIP user INVITE to first agent audio: ${greeted! - dialledAt} ms`);

      // max_concurrent_calls is 1: the next call is refused at the edge, with the reason.
      const second = await phone.call(at, {
        username: 'deskphone',
        password: 'deskphone-password',
        number: 'agent',
        rtpPort: ear.port + 2,
      });
      expect(second.final?.status).toBe(486);
      expect(second.final?.reason).toMatch(/call limit/);
      await new Promise((resolve) => setTimeout(resolve, 4000));
    } finally {
      await call.hangUp();
      ear.close();
    }
    const record = await endedCallRecord(gw, 'deskphone');
    expect(record, 'no call record names the SIP user').toBeDefined();
    expect(record.sip_user).toBe('deskphone');
    expect(record.transcript[0].text).toBe(
      'Hello desk phone user, this is the agent for SIP users.',
    );
    const calls = await gw.request('GET', '/api/sip-users/deskphone/calls');
    expect(calls.body.items.map((c: { id: string }) => c.id)).toContain(record.id);
  }, 90_000);
});

describe('LiveKit calls a SIP user through the edge', () => {
  // What an outbound call or a transfer to sip:<username>@edge does: LiveKit SIP dials the edge.
  const dial = async (username: string) => {
    const trunk = await gw.sip.createSipOutboundTrunk(
      `edge for ${username}`,
      `127.0.0.1:${edge.sipPort}`,
      ['+15550009999'],
    );
    let startedAt = Date.now();
    try {
      // LiveKit SIP refuses new calls while this shared machine's CPU is high: a bounded retry.
      for (let attempt = 1; ; attempt += 1) {
        startedAt = Date.now();
        try {
          await gw.sip.createSipParticipant(trunk.sipTrunkId, username, `to-user-${username}`, {
            waitUntilAnswered: true,
            ringingTimeout: 10,
          });
          break;
        } catch (error) {
          if (attempt >= 10 || !/cpu/i.test((error as Error).message)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
      return { error: undefined, ms: Date.now() - startedAt };
    } catch (error) {
      return {
        error: error as Error & { metadata?: Record<string, string> },
        ms: Date.now() - startedAt,
      };
    } finally {
      await gw.sip.deleteSipTrunk(trunk.sipTrunkId);
    }
  };

  it('POST /api/calls to sip:<username> rings every registered contact of the user', async () => {
    const desk = await SipPhone.open('127.0.0.1');
    const mobile = await SipPhone.open('127.0.0.2');
    phones.push(desk, mobile);
    ringmePhones.push(desk, mobile);
    for (const p of [desk, mobile]) {
      p.answerInvitesWith = 486;
      const r = await p.register(at, { username: 'ringme', password: 'ringme-password' });
      expect(r.final?.status).toBe(200);
    }
    let res = await gw.request('POST', '/api/calls', {
      to_number: 'sip:ringme',
      ringing_timeout_seconds: 10,
    });
    // LiveKit SIP refuses new calls while this shared machine's CPU is high: a bounded retry.
    for (let i = 0; i < 30 && /cpu/i.test(JSON.stringify(res.body)); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      res = await gw.request('POST', '/api/calls', {
        to_number: 'sip:ringme',
        ringing_timeout_seconds: 10,
      });
    }
    // Both phones were busy: the call fails, after ringing each of them.
    expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(res.body)).toMatch(/486|busy/i);
    expect(desk.calls).toHaveLength(1);
    expect(mobile.calls).toHaveLength(1);
    expect(desk.calls[0]!.request.text).toMatch(/^INVITE sip:ringme@127\.0\.0\.1:/);
    const record = (await gw.request('GET', '/api/sip-users/ringme/calls')).body.items[0];
    expect(record).toMatchObject({ sip_user: 'ringme', direction: 'outbound', status: 'failed' });
  }, 60_000);

  it('one SIP user calling another (as after a transfer) rings its phones', async () => {
    const caller = await SipPhone.open('127.0.0.3');
    phones.push(caller);
    const ear = await RtpPeer.open();
    // ringme's two phones (registered in the test before): how often each rang so far.
    const ringme = ringmePhones;
    const rung = ringme.map((p) => p.calls.length);
    const call = await caller.call(at, {
      username: 'deskphone',
      password: 'deskphone-password',
      number: 'ringme',
      rtpPort: ear.port,
    });
    ear.close();
    // ringme's two phones are busy: the caller hears 486 from them, not the agent.
    expect(call.final?.status).toBe(486);
    expect(ringme).toHaveLength(2);
    expect(ringme.map((p) => p.calls.length)).toEqual(rung.map((n) => n + 1));
  });

  it('POST /api/calls says which SIP user is missing or not registered, dialling nothing', async () => {
    const missing = await gw.request('POST', '/api/calls', { to_number: 'sip:nobody-here' });
    expect(missing.status).toBe(400);
    expect(missing.body.fields[0].field).toBe('to_number');
    const away = await gw.request('POST', '/api/calls', { to_number: 'sip:away' });
    expect(away.status).toBe(409);
    expect(away.body).toMatchObject({ error: 'sip_user_not_registered', sip_status: 480 });
    expect(away.body.message).toMatch(/"away" has no registration/);
  });

  it('answers at once that a user with no registration is not registered', async () => {
    const { error, ms } = await dial('away');
    expect(error).toBeDefined();
    expect(JSON.stringify({ message: error!.message, meta: error!.metadata })).toMatch(/480/);
    expect(ms).toBeLessThan(5000);
  }, 30_000);
});
