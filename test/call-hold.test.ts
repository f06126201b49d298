import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// Hold and resume through the API on a real phone call: sipp dials LiveKit SIP, the agent
// worker answers, and the test's RTP peer is the caller's ear.

const stack = inject('stack');
const AGENT = 'call-hold-test';
const NUMBER = '+15551240000';
const INFO = 'Here is the information. This line tests hold and resume, and this answer is long.';
let gw: TestGateway;
let worker: TestAgentWorker;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'hold_test', [NUMBER]);
  await agentLine(gw, {
    trunkId: 'hold_test',
    name: 'hold-line',
    numbers: [NUMBER],
    settings: {
      mode: 'offline',
      greeting:
        'Welcome to the hold test line. This greeting is long on purpose so that the hold cuts it short. Press 1 for information.',
      ivr: { prompt: 'Press 1 for information.', options: { '1': { say: INFO } } },
    },
  });
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    timeoutMs: 120_000,
  });
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sound frames (20 ms each) the caller hears during the next `ms`. */
async function soundFramesDuring(phone: RtpPeer, ms: number): Promise<number> {
  const before = phone.heard.soundFrames;
  await sleep(ms);
  return phone.heard.soundFrames - before;
}

describe('hold and resume', () => {
  it('the caller hears music on hold, keys do nothing while held, and the menu works again after resume', async () => {
    const caller = '+15557100001';
    const phone = await RtpPeer.open();
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: NUMBER,
      caller,
      rtpPort: phone.port,
      holdMs: 60_000,
    });
    let callId = '';
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 30_000)).toBeDefined();
      const active = await eventually(async () => {
        const list = await gw.request('GET', '/api/calls/active');
        const found = (list.body.items as { id: string; from_number: string; status: string }[])
          .filter((c) => c.from_number === caller && c.status === 'active')
          .at(0);
        return found;
      }, 10_000);
      expect(active, 'the call record is not active').toBeDefined();
      callId = active!.id;

      const early = await gw.request('POST', `/api/calls/${callId}/resume`);
      expect(early.status).toBe(409);
      expect(early.body.error).toBe('not_on_hold');
      const viewer = await gw.keyFor('viewer');
      expect(
        (await gw.request('POST', `/api/calls/${callId}/hold`, undefined, viewer)).status,
      ).toBe(403);

      // Hold in the middle of the greeting: the agent stops, the music starts.
      const askedAt = Date.now();
      const held = await gw.request('POST', `/api/calls/${callId}/hold`);
      const holdMs = Date.now() - askedAt;
      expect(held.status, JSON.stringify(held.body)).toBe(200);
      expect(held.body.on_hold).toBe(true);
      console.log(`hold confirmed by the agent in ${holdMs} ms`);
      const again = await gw.request('POST', `/api/calls/${callId}/hold`);
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('already_on_hold');

      await sleep(1000);
      phone.pressKey('1'); // ignored while held
      const musicFrames = await soundFramesDuring(phone, 5000);
      console.log(`music on hold: ${musicFrames} of 250 frames with sound`);
      // A melody with short pauses: most 20 ms frames carry sound.
      expect(musicFrames).toBeGreaterThan(150);

      const resumed = await gw.request('POST', `/api/calls/${callId}/resume`);
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
      expect(resumed.body.on_hold).toBe(false);
      // The music stopped and the interrupted greeting is not replayed: the agent listens.
      await sleep(700);
      const afterResume = await soundFramesDuring(phone, 1500);
      console.log(`after resume: ${afterResume} of 75 frames with sound`);
      expect(afterResume).toBeLessThan(10);

      phone.pressKey('1');
      const answered = await soundFramesDuring(phone, 5000);
      expect(answered, 'the menu did not answer key 1 after resume').toBeGreaterThan(50);

      const hangup = await gw.request('POST', `/api/calls/${callId}/hangup`);
      expect(hangup.status).toBe(200);
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }
    const record = await endedCallRecord(gw, caller, 3);
    const types = record.events.map((e: { type: string }) => e.type);
    expect(types).toContain('hold');
    expect(types).toContain('resume');
    expect(types.indexOf('hold')).toBeLessThan(types.indexOf('resume'));
    const said = (record.transcript as { speaker: string; text: string }[]).map(
      (t) => `${t.speaker}: ${t.text}`,
    );
    // The key pressed while held left no trace; the one after resume got the menu's answer.
    expect(said.filter((l) => l === 'caller: [DTMF 1]')).toHaveLength(1);
    expect(said[said.indexOf('caller: [DTMF 1]') + 1]).toBe(`agent: ${INFO}`);

    const ended = await gw.request('POST', `/api/calls/${callId}/hold`);
    expect(ended.status).toBe(409);
    expect(ended.body.error).toBe('call_ended');
    const audit = await gw.request('GET', '/api/audit?entity_id=' + callId);
    const actions = JSON.stringify(audit.body);
    expect(actions).toContain('call.hold');
    expect(actions).toContain('call.resume');
    const published = await gw.api.database.db
      .selectFrom('webhookMessages')
      .select(['eventType', 'payload'])
      .where('eventType', 'in', ['call.hold', 'call.resume'])
      .orderBy('createdAt')
      .execute();
    expect(published.map((m) => m.eventType)).toEqual(['call.hold', 'call.resume']);
    expect(JSON.stringify(published[0]!.payload)).toContain(callId);
  }, 150_000);
});
