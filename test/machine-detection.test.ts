import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer, speechAsUlaw } from './helpers/rtp-peer.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/wait.js';
import { startSippUas } from './sipp/uas.js';

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

/** A 1 kHz beep of half a second, as 8 kHz mu-law. */
const beep = () =>
  execFileSync('sox', [
    ...['-n', '-r', '8000', '-c', '1', '-t', 'ul', '-'],
    ...['synth', '0.5', 'sine', '1000', 'vol', '0.5'],
  ]);

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
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: 'amd_out',
    name: 'sipp callee',
    provider: 'generic',
    supports_inbound: false,
    proxy_address: '127.0.0.1:5060',
    numbers: [FROM],
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
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

/** POST /api/calls to a sipp UAS whose media is `callee`; LiveKit SIP's "cpu" refusals retried. */
async function dialCallee(callee: RtpPeer, to: string) {
  const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 60, rtpPort: callee.port });
  const point = await gw.request('PUT', '/api/trunks/amd_out', {
    proxy_address: `127.0.0.1:${uas.port}`,
  });
  expect(point.status).toBe(200);
  for (let attempt = 0; ; attempt += 1) {
    const res = await gw.request('POST', '/api/calls', {
      trunk_id: 'amd_out',
      to_number: to,
      agent_profile_id: profileId,
      webhook_url: receiver.url,
    });
    const overloaded = res.status === 503 && String(res.body?.message).includes('cpu exhausted');
    if (!overloaded || attempt >= 20) {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { uas, call: res.body as { id: string } };
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

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
