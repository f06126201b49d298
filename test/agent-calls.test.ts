import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer, speechAsUlaw } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// Phone calls to the real agent worker: sipp dials LiveKit SIP on loopback through a trunk our
// API provisioned, the test's RTP peer is the caller's phone (speech, RFC 4733 keys, ears).

const stack = inject('stack');
const AGENT = 'agent-calls-test';
const NUMBER = '+15551230000';
const PROFILE_NUMBER = '+15551230002';
let gw: TestGateway;
let worker: TestAgentWorker;

beforeAll(async () => {
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'agent_test', [NUMBER, PROFILE_NUMBER]);
  const profile = await gw.request('POST', '/api/agents', {
    name: 'front-desk',
    settings: {
      mode: 'offline',
      greeting: 'Welcome to the front desk. Press 5 to end this call.',
      ivr: {
        prompt: 'Press 5 to end this call.',
        options: { '5': { say: 'Goodbye from the front desk.', hangup: true } },
      },
    },
  });
  expect(profile.status).toBe(201);
  // The default rule names no agent: it dispatches the gateway's worker (AGENT_NAME) with the
  // offline profile. The second names a profile.
  const rules = [
    { name: 'offline', type: 'individual', trunk_ids: ['agent_test'], numbers: [NUMBER] },
    {
      name: 'front-desk',
      type: 'individual',
      trunk_ids: ['agent_test'],
      numbers: [PROFILE_NUMBER],
      agent_profile_id: profile.body.id,
    },
  ];
  for (const rule of rules) {
    const created = await gw.request('POST', '/api/dispatch-rules', rule);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.agent_name).toBe(AGENT);
  }
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

const lines = (call: { transcript: { speaker: string; text: string }[] }) =>
  call.transcript.map((t) => `${t.speaker}: ${t.text}`);

describe('the agent answers phone calls', () => {
  it('greets the caller, answers a key press from the menu, and records the call', async () => {
    const caller = '+15557000001';
    const phone = await RtpPeer.open();
    const dialledAt = Date.now();
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: NUMBER,
      caller,
      rtpPort: phone.port,
      holdMs: 14_000,
    });
    try {
      const greeted = await eventually(async () => phone.heard.firstSoundAt, 20_000);
      expect(greeted, 'the caller heard no greeting').toBeDefined();
      const greetingAfterMs = greeted! - dialledAt;
      expect(greetingAfterMs).toBeLessThan(20_000);

      // Speech while the agent talks: the offline script answers an utterance.
      phone.say(speechAsUlaw('Hello, I would like some help please.'));
      await new Promise((r) => setTimeout(r, 3500));
      const keyAt = Date.now();
      phone.pressKey('1');
      // The menu's answer for key 1 is several seconds of speech.
      const heardAfterKey = await eventually(async () => {
        const frames = phone.soundFramesSince(keyAt + 1000);
        return frames > 50 ? frames : undefined;
      }, 8000);
      expect(heardAfterKey, 'nothing heard after pressing 1').toBeDefined();
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }
    const record = await endedCallRecord(gw, caller);
    expect(record).toBeDefined();
    expect(record.status).toBe('ended');
    expect(record.end_reason).toBe('caller_hangup');
    expect(record.to_number).toBe(NUMBER);
    expect(record.answered_at).not.toBeNull();
    const said = lines(record);
    expect(said[0]).toMatch(/^agent: Hello, you have reached the voice gateway demo agent/);
    expect(said).toContain('caller: [DTMF 1]');
    const afterKey = said.slice(said.indexOf('caller: [DTMF 1]') + 1);
    expect(afterKey[0]).toMatch(/^agent: This gateway puts AI voice agents on the phone network/);
    expect(said.some((l) => l.startsWith('agent: I am the offline demo agent'))).toBe(true);
    // The key press is a turn: its latency (key to the agent's first audio) is recorded.
    expect(record.latency.turns.length).toBeGreaterThanOrEqual(1);
    expect(record.latency.p50_ms).toBeLessThan(3000);
  }, 60_000);

  it('hangs up when the profile named by the rule says so, and records why', async () => {
    const caller = '+15557000002';
    const phone = await RtpPeer.open();
    const startedAt = Date.now();
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: PROFILE_NUMBER,
      caller,
      rtpPort: phone.port,
      holdMs: 25_000,
    });
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      phone.pressKey('5');
      const sipp = await call.done;
      // The agent's BYE came well before the caller's own 25 s hangup.
      expect(sipp.code, sipp.stderr).toBe(0);
      expect(Date.now() - startedAt).toBeLessThan(22_000);
    } finally {
      call.stop();
      phone.close();
    }
    const record = await endedCallRecord(gw, caller);
    expect(record.end_reason).toBe('agent_hangup');
    expect(record.hung_up_by).toBe('agent');
    expect(record.agent_profile_id).not.toBeNull();
    const said = lines(record);
    expect(said[0]).toBe('agent: Welcome to the front desk. Press 5 to end this call.');
    expect(said.slice(-2)).toEqual(['caller: [DTMF 5]', 'agent: Goodbye from the front desk.']);
  }, 60_000);
});
