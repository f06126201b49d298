import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk, sippCalleeTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialCallee, machineBeep } from './helpers/outbound-callee.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { RtpPeer, speechAsUlaw } from './helpers/rtp-peer.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// Bridge mode on real outbound calls: sipp answers the SIP side, the test's RTP peer is the
// callee's voice, a loopback WebSocket server is the customer's AI platform. The profile's
// machine detection applies as in the other modes and the platform is told the verdict; a
// transfer the platform asks for that does not happen is answered with transfer_failed.

const stack = inject('stack');
const AGENT = 'bridge-amd-test';
const FROM = '+15550108000';
const MESSAGE = 'This is the clinic, calling to confirm your appointment tomorrow at nine.';
const TRANSFER_CALLEE = '+15550108009';
/** An inbound number of a bridge profile, for the transfers that send no REFER. */
const INBOUND = '+15550108100';
/** The transfers the platform asks for, one after the other, by the call's to_number. */
const TRANSFERS: Record<string, string[]> = {
  [TRANSFER_CALLEE]: ['not a number', '+19005550123', '+15551230000'],
  [INBOUND]: ['not a number', '+19005550123'],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- frames are arbitrary JSON
type Frame = any;
let gw: TestGateway;
let host: TestAgentWorker;
let receiver: Receiver;
let platform: WebSocketServer;
let amdProfile: string;
let plainProfile: string;
/** What the platform received, by the callee's number (the auth frame's to_number). */
const received = new Map<string, Frame[]>();

/** One second of a 440 Hz tone, 16 kHz PCM in base64: the platform's spoken answer. */
function toneBase64(): string {
  const pcm = Buffer.alloc(16000 * 2);
  for (let i = 0; i < 16000; i++) {
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), i * 2);
  }
  return pcm.toString('base64');
}

beforeAll(async () => {
  platform = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => platform.once('listening', r));
  platform.on('connection', (socket: WebSocket) => {
    let frames: Frame[] = [];
    let callee = '';
    const send = (frame: unknown) => socket.send(JSON.stringify(frame));
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.type === 'auth') {
        callee = frame.call.to_number;
        received.set(callee, (frames = []));
      }
      frames.push(frame);
      // Talks as soon as it is connected: not played while the gateway screens the call.
      if (frame.type === 'auth') send({ type: 'response', data: { audio: toneBase64() } });
      if (frame.type === 'machine_detection' && frame.data.answered_by === 'human') {
        send({
          type: 'response',
          data: { text: 'Hello, this is the clinic.', audio: toneBase64() },
        });
      }
      const targets = TRANSFERS[callee];
      if (!targets) return;
      // The transfer lines: ask for each target in turn once the last one failed, then hang up.
      const failed = frames.filter((f) => f.type === 'transfer_failed').length;
      const next = targets[failed];
      if (frame.type === 'auth') {
        setTimeout(() => send({ type: 'transfer', data: { to: targets[0] } }), 3000);
      } else if (frame.type === 'transfer_failed') {
        if (next) send({ type: 'transfer', data: { to: next } });
        else send({ type: 'hangup', data: { reason: 'no transfer went through' } });
      }
    });
  });
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
  });
  await clearLivekitSip(gw.sip);
  receiver = await startReceiver(() => 200);
  await sippCalleeTrunk(gw, 'bridge_out', [FROM]);
  await loopbackTrunk(gw, 'bridge_in', [INBOUND]);
  const bridge = { url: `ws://127.0.0.1:${(platform.address() as AddressInfo).port}/calls` };
  const amd = await gw.request('POST', '/api/agents', {
    name: 'bridge-reminders',
    settings: {
      mode: 'bridge',
      bridge,
      machine_detection: { enabled: true, on_machine: 'leave_message', message: MESSAGE },
    },
  });
  expect(amd.status, JSON.stringify(amd.body)).toBe(201);
  amdProfile = amd.body.id;
  const plain = await gw.request('POST', '/api/agents', {
    name: 'bridge-plain',
    settings: { mode: 'bridge', bridge },
  });
  expect(plain.status, JSON.stringify(plain.body)).toBe(201);
  plainProfile = plain.body.id;
  await agentLine(gw, {
    trunkId: 'bridge_in',
    name: 'bridge-inbound',
    numbers: [INBOUND],
    settings: { mode: 'bridge', bridge },
  });
  host = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env: {
      BRIDGE_JWT_SECRET: randomBytes(32).toString('hex'),
      BRIDGE_HMAC_SECRET: randomBytes(32).toString('hex'),
    },
  });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await receiver?.close();
  await gw?.close();
  for (const client of platform?.clients ?? []) client.terminate();
  await new Promise((r) => platform?.close(r));
});

/** The ended call's record, once the agent's final report is in. */
const ended = (id: string, transcriptLines = 0) =>
  eventually(async () => {
    const call = (await gw.request('GET', `/api/calls/${id}`)).body;
    return call.status === 'ended' && call.transcript.length >= transcriptLines ? call : undefined;
  }, 30_000);

const webhookOf = (callId: string) =>
  receiver.requests
    .map((r) => JSON.parse(r.body))
    .find((b) => b.type === 'call.machine_detection' && b.data.call_id === callId);

const types = (frames: Frame[]) => frames.map((f: Frame) => f.type as string);

describe('answering machine detection in bridge mode', { timeout: 120_000 }, () => {
  it("a machine: the platform is told, the gateway leaves the profile's message after the beep and hangs up", async () => {
    const to = '+15550108001';
    const callee = await RtpPeer.open();
    const { uas, call } = await dialCallee(gw, callee, {
      trunkId: 'bridge_out',
      to,
      profileId: amdProfile,
      webhookUrl: receiver.url,
    });
    try {
      await eventually(async () => (callee.heard.frames > 0 ? true : undefined), 20_000);
      callee.say(
        speechAsUlaw(
          'Hi, you have reached the Smith family. We cannot take your call right now, please leave a message after the tone.',
        ),
      );
      callee.say(Buffer.alloc(2400, 0xff));
      callee.say(machineBeep());
      const beepEndsAt = Date.now() + (callee.queued() / 50) * 1000;
      const done = await uas.done;
      expect(done.code, done.stderr).toBe(0);
      expect(callee.soundFramesSince(beepEndsAt + 200)).toBeGreaterThan(MESSAGE.length);
    } finally {
      uas.stop();
      callee.close();
    }
    const frames = received.get(to)!;
    expect(frames, 'the platform never heard of the call').toBeDefined();
    const verdict = frames.find((f: Frame) => f.type === 'machine_detection');
    expect(verdict?.data).toEqual({
      call_id: frames[0].auth.call_id,
      answered_by: 'machine',
      on_machine: 'leave_message',
    });
    // The platform heard nothing of the machine: no audio while the call was screened.
    expect(types(frames)).not.toContain('audio_data');
    const record = await ended(call.id, 1);
    expect(record).toMatchObject({ answered_by: 'machine', end_reason: 'machine_message' });
    expect(record.transcript.map((t: { text: string }) => t.text)).toEqual([MESSAGE]);
    expect(await eventually(async () => webhookOf(call.id), 15_000)).toMatchObject({
      data: { answered_by: 'machine' },
    });
  });

  it('a person: the platform is told before any of their audio, then hears them and is heard', async () => {
    const to = '+15550108002';
    const callee = await RtpPeer.open();
    const { uas, call } = await dialCallee(gw, callee, {
      trunkId: 'bridge_out',
      to,
      profileId: amdProfile,
      webhookUrl: receiver.url,
    });
    try {
      await eventually(async () => (callee.heard.frames > 0 ? true : undefined), 20_000);
      const saidAt = Date.now();
      callee.say(speechAsUlaw('Hello?'));
      const told = await eventually(
        async () => received.get(to)?.find((f: Frame) => f.type === 'machine_detection'),
        15_000,
      );
      expect(told?.data.answered_by).toBe('human');
      // The platform's answer to the verdict is played; what it sent before was not.
      const greeted = await eventually(
        async () => (callee.soundFramesSince(saidAt + 1000) > 20 ? true : undefined),
        10_000,
      );
      expect(greeted, 'the platform was not heard').toBe(true);
      await eventually(async () =>
        types(received.get(to)!).includes('audio_data') ? true : undefined,
      );
      expect((await gw.request('POST', `/api/calls/${call.id}/hangup`)).status).toBe(200);
      await uas.done;
    } finally {
      uas.stop();
      callee.close();
    }
    const order = types(received.get(to)!);
    expect(order.indexOf('machine_detection')).toBeLessThan(order.indexOf('audio_data'));
    const record = await ended(call.id, 1);
    expect(record.answered_by).toBe('human');
    expect(record.transcript.map((t: { text: string }) => t.text)).toContain(
      'Hello, this is the clinic.',
    );
    expect(await eventually(async () => webhookOf(call.id), 15_000)).toMatchObject({
      data: { answered_by: 'human' },
    });
  });
});

describe('transfers the platform asks for', { timeout: 120_000 }, () => {
  it('on an inbound call, an invalid target and one the destination policy refuses are answered with transfer_failed; the call goes on', async () => {
    const caller = '+15557810101';
    const sip = { host: stack.sipHost, port: stack.sipPort };
    const { call, hangUp } = await dialFromPhone(sip, INBOUND, caller, 30_000);
    try {
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const frames = received.get(INBOUND)!;
    expect(frames, 'the platform never heard of the call').toBeDefined();
    const callId = frames[0].auth.call_id;
    expect(frames.filter((f: Frame) => f.type === 'transfer_failed').map((f) => f.data)).toEqual([
      { call_id: callId, to: 'not a number', reason: 'invalid_target' },
      { call_id: callId, to: '+19005550123', reason: 'refused', code: 'destination_refused' },
    ]);
    const list = await gw.request('GET', '/api/calls?limit=20');
    const id = (list.body.items as { id: string; from_number: string }[]).find(
      (c) => c.from_number === caller,
    )!.id;
    const record = await ended(id);
    // The platform hung up once both had failed: the call went on until then.
    expect(record.end_reason).toBe('agent_hangup');
    expect(record.events.map((e: { type: string }) => e.type)).toContain('transfer_refused');
  });

  it('an invalid target, one the destination policy refuses and one whose REFER fails are each answered with transfer_failed', async () => {
    const callee = await RtpPeer.open();
    // Answers, refuses the REFER with 403, stays until the gateway hangs up.
    const { uas, call } = await dialCallee(gw, callee, {
      trunkId: 'bridge_out',
      to: TRANSFER_CALLEE,
      profileId: plainProfile,
      scenario: 'uas-transfer-refused.xml',
    });
    try {
      const done = await uas.done;
      expect(done.code, done.stderr).toBe(0);
    } finally {
      uas.stop();
      callee.close();
    }
    const frames = received.get(TRANSFER_CALLEE)!;
    const failures = frames.filter((f: Frame) => f.type === 'transfer_failed').map((f) => f.data);
    const callId = frames[0].auth.call_id;
    expect(failures).toEqual([
      { call_id: callId, to: 'not a number', reason: 'invalid_target' },
      { call_id: callId, to: '+19005550123', reason: 'refused', code: 'destination_refused' },
      { call_id: callId, to: '+15551230000', reason: 'failed', code: expect.any(String) },
    ]);
    const record = await ended(call.id);
    expect(record.end_reason).toBe('agent_hangup');
    expect(record.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['transfer_refused', 'transfer_failed']),
    );
  });
});
