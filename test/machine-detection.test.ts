import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sippCalleeTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialCallee as dialThrough, machineBeep as beep } from './helpers/outbound-callee.js';
import { RtpPeer, speechAsUlaw } from './helpers/rtp-peer.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/wait.js';

// Answering machine detection on real outbound calls: sipp answers the SIP side, the test's
// RTP peer is the callee's voice: a person saying "Hello?" or a machine's greeting and beep.

const stack = inject('stack');
const AGENT = 'machine-detection-test';
const FROM = '+15550107000';
const MESSAGE = 'This is the clinic, calling to confirm your appointment tomorrow at nine.';
const GREETING = 'Hello, this is the clinic calling.';
let gw: TestGateway;
let host: TestAgentWorker;
let receiver: Receiver;
let profileId: string;

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
  });
  await clearLivekitSip(gw.sip);
  receiver = await startReceiver(() => 200);
  await sippCalleeTrunk(gw, 'amd_out', [FROM]);
  const profile = await gw.request('POST', '/api/agents', {
    name: 'appointment-reminders',
    settings: {
      mode: 'offline',
      greeting: GREETING,
      machine_detection: { enabled: true, on_machine: 'leave_message', message: MESSAGE },
    },
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  profileId = profile.body.id;
  host = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await receiver?.close();
  await gw?.close();
});

const dialCallee = (callee: RtpPeer, to: string) =>
  dialThrough(gw, callee, { trunkId: 'amd_out', to, profileId, webhookUrl: receiver.url });

/** The ended call's record, once the agent's final report (its transcript) is in. */
const record = (id: string) =>
  eventually(async () => {
    const call = (await gw.request('GET', `/api/calls/${id}`)).body;
    return call.status === 'ended' && call.transcript.length > 0 ? call : undefined;
  }, 30_000);

const webhookOf = (callId: string) =>
  receiver.requests
    .map((r) => JSON.parse(r.body))
    .find((b) => b.type === 'call.machine_detection' && b.data.call_id === callId);

describe('answering machine detection', { timeout: 120_000 }, () => {
  it("a machine: the agent waits for its beep, leaves the profile's message and hangs up", async () => {
    const callee = await RtpPeer.open();
    const { uas, call } = await dialCallee(callee, '+15550107001');
    try {
      // Once media flows: the machine's greeting, then its beep.
      await eventually(async () => (callee.heard.frames > 0 ? true : undefined), 20_000);
      callee.say(
        speechAsUlaw(
          'Hi, you have reached the Smith family. We cannot take your call right now, please leave a message after the tone.',
        ),
      );
      callee.say(Buffer.alloc(2400, 0xff));
      callee.say(beep());
      const beepEndsAt = Date.now() + (callee.queued() / 50) * 1000;
      const done = await uas.done;
      expect(done.code, done.stderr).toBe(0);
      // The message was spoken after the beep.
      expect(callee.soundFramesSince(beepEndsAt + 200)).toBeGreaterThan(MESSAGE.length);
    } finally {
      uas.stop();
      callee.close();
    }
    const ended = await record(call.id);
    expect(ended).toMatchObject({ answered_by: 'machine', end_reason: 'machine_message' });
    const said = ended.transcript.map((t: { text: string }) => t.text);
    expect(said).toEqual([MESSAGE]);
    expect(ended.events.map((e: { type: string }) => e.type)).toContain('machine_detection');
    expect(await eventually(async () => webhookOf(call.id), 15_000)).toMatchObject({
      data: { answered_by: 'machine' },
    });
  });

  it('a person: "Hello?" and a pause, then the greeting', async () => {
    const callee = await RtpPeer.open();
    const { uas, call } = await dialCallee(callee, '+15550107002');
    try {
      await eventually(async () => (callee.heard.frames > 0 ? true : undefined), 20_000);
      const saidAt = Date.now();
      callee.say(speechAsUlaw('Hello?'));
      const greeted = await eventually(
        async () => (callee.soundFramesSince(saidAt + 1500) > 20 ? true : undefined),
        15_000,
      );
      expect(greeted, 'the person was not greeted').toBe(true);
      const hangup = await gw.request('POST', `/api/calls/${call.id}/hangup`);
      expect(hangup.status, JSON.stringify(hangup.body)).toBe(200);
      await uas.done;
    } finally {
      uas.stop();
      callee.close();
    }
    const ended = await record(call.id);
    expect(ended.answered_by).toBe('human');
    expect(ended.transcript.map((t: { text: string }) => t.text)).toContain(GREETING);
    expect(await eventually(async () => webhookOf(call.id), 15_000)).toMatchObject({
      data: { answered_by: 'human' },
    });
  });

  it('refuses leave_message without a message, naming the field', async () => {
    const res = await gw.request('POST', '/api/agents', {
      name: 'no-message',
      settings: {
        mode: 'offline',
        machine_detection: { enabled: true, on_machine: 'leave_message' },
      },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('machine_detection');
    expect(JSON.stringify(res.body)).toContain('needs the message to leave');
  });
});
