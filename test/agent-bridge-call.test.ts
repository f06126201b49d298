import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { speechAsUlaw } from './helpers/rtp-peer.js';
import { dialFromPhone, type PhoneCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// Bridge mode on a real phone call: the worker streams the caller to a customer's AI platform
// (here a loopback WebSocket server in the test) and plays the platform's answers.

const stack = inject('stack');
const sip = { host: stack.sipHost, port: stack.sipPort };
const AGENT = 'agent-bridge-test';
const NUMBER = '+15551250000';
const LIMITED_NUMBER = '+15551250001';
const RECORDED_NUMBER = '+15551250002';
/** A profile whose bridge secret the worker does not have: the bridge cannot start. */
const UNCONFIGURED_NUMBER = '+15551250003';
const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'vg-bridge-recordings-'));
const JWT_SECRET = randomBytes(32).toString('hex');
const HMAC_SECRET = randomBytes(32).toString('hex');
const REPLY_TEXT = 'Hello from the customer platform';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- frames are arbitrary JSON
type Frame = any;
let gw: TestGateway;
let worker: TestAgentWorker;
let platform: WebSocketServer;
const frames: Frame[] = [];
/** The platform's socket for each caller, by the from_number of its auth frame. */
const sockets = new Map<string, WebSocket>();
/** What each platform socket received, in order. */
const received = new Map<WebSocket, Frame[]>();

/** One second of a 440 Hz tone, 16 kHz 16-bit PCM, base64: the platform's spoken answer. */
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
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      frames.push(frame);
      if (!received.has(socket)) received.set(socket, []);
      received.get(socket)!.push(frame);
      if (frame.type === 'auth') {
        sockets.set(frame.call.from_number, socket);
        socket.send(
          JSON.stringify({ type: 'response', data: { text: REPLY_TEXT, audio: toneBase64() } }),
        );
      } else if (frame.type === 'dtmf' && frame.data.digit === '0') {
        socket.send(JSON.stringify({ type: 'hangup', data: { reason: 'caller pressed 0' } }));
      }
    });
  });
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT, RECORDINGS_DIR: recordingsDir },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'bridge_test', [
    NUMBER,
    LIMITED_NUMBER,
    RECORDED_NUMBER,
    UNCONFIGURED_NUMBER,
  ]);
  const port = (platform.address() as AddressInfo).port;
  await agentLine(gw, {
    trunkId: 'bridge_test',
    name: 'platform',
    numbers: [NUMBER],
    settings: { mode: 'bridge', bridge: { url: `ws://127.0.0.1:${port}/calls` } },
  });
  await agentLine(gw, {
    trunkId: 'bridge_test',
    name: 'platform-one-at-a-time',
    numbers: [LIMITED_NUMBER],
    settings: {
      mode: 'bridge',
      bridge: { url: `ws://127.0.0.1:${port}/calls` },
      max_concurrent_calls: 1,
      queue: { announce_position_seconds: 0, max_wait_seconds: 60 },
    },
  });
  await agentLine(gw, {
    trunkId: 'bridge_test',
    name: 'platform-recorded',
    numbers: [RECORDED_NUMBER],
    settings: {
      mode: 'bridge',
      bridge: { url: `ws://127.0.0.1:${port}/calls` },
      recording: { enabled: true, format: 'ogg', channels: 'stereo', retention_days: 1 },
    },
  });
  await agentLine(gw, {
    trunkId: 'bridge_test',
    name: 'platform-unconfigured',
    numbers: [UNCONFIGURED_NUMBER],
    settings: {
      mode: 'bridge',
      bridge: { url: `ws://127.0.0.1:${port}/calls`, jwt_secret_env: 'BRIDGE_JWT_SECRET_UNSET' },
    },
  });
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env: {
      BRIDGE_JWT_SECRET: JWT_SECRET,
      BRIDGE_HMAC_SECRET: HMAC_SECRET,
      RECORDINGS_DIR: recordingsDir,
    },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
  for (const client of platform?.clients ?? []) client.terminate();
  await new Promise((r) => platform?.close(r));
});

describe('bridge mode on a phone call', () => {
  it('a bridge that cannot start answers the caller with the apology and hangs up, not ringing on', async () => {
    const caller = '+15557200009';
    const { phone, call, hangUp } = await dialFromPhone(sip, UNCONFIGURED_NUMBER, caller, 40_000);
    try {
      const apology = await eventually(async () => phone.heard.firstSoundAt, 20_000);
      expect(apology, worker.logs().slice(-3000)).toBeDefined();
      const record = await endedCallRecord(gw, caller, 1, 30_000);
      expect(record.end_reason).toBe('agent_failed');
      expect(record.answered_at).toBeTruthy();
      await call.done;
    } finally {
      hangUp();
    }
  }, 90_000);

  it('authenticates, streams the caller as 16 kHz frames, plays the answer, obeys hangup', async () => {
    const caller = '+15557200001';
    const utterance = speechAsUlaw('Hello platform, this is the caller speaking.');
    const startedAt = Date.now();
    const { phone, call, hangUp } = await dialFromPhone(sip, NUMBER, caller, 25_000);
    try {
      // The platform's answer (sent right after auth) is what the caller hears first.
      const answer = await eventually(async () => phone.heard.firstSoundAt, 20_000);
      expect(answer, worker.logs().slice(-3000)).toBeDefined();
      phone.say(utterance);
      await new Promise((r) => setTimeout(r, (utterance.length / 8000) * 1000 + 1000));
      phone.pressKey('0');
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
      expect(Date.now() - startedAt).toBeLessThan(22_000);
    } finally {
      hangUp();
    }

    const auth = frames.find((f) => f.type === 'auth');
    expect(auth.call).toMatchObject({ from_number: caller, to_number: NUMBER, sample_rate: 8000 });
    const { payload } = await jwtVerify(
      auth.auth.token.replace(/^Bearer /, ''),
      new TextEncoder().encode(JWT_SECRET),
    );
    expect(payload.sub).toBe(auth.auth.call_id);
    const expected = createHmac('sha256', HMAC_SECRET)
      .update(`${auth.auth.timestamp}.${auth.auth.call_id}`)
      .digest('hex');
    expect(auth.auth.signature).toBe(expected);

    const audio = frames.filter((f) => f.type === 'audio_data');
    expect(audio.length).toBeGreaterThan(100);
    for (const [i, f] of audio.entries()) {
      expect(Buffer.from(f.data.audio, 'base64').length).toBe(640);
      if (i > 0) expect(f.data.sequence).toBe(audio[i - 1].data.sequence + 1);
    }
    // The caller's words reached the platform: frames with speech energy last about as long.
    const loud = audio.filter((f) => {
      const pcm = Buffer.from(f.data.audio, 'base64');
      let sum = 0;
      for (let i = 0; i < pcm.length; i += 2) sum += pcm.readInt16LE(i) ** 2;
      return Math.sqrt(sum / 320) > 300;
    });
    const spokenSeconds = utterance.length / 8000;
    expect(loud.length * 0.02).toBeGreaterThan(spokenSeconds * 0.5);
    expect(loud.length * 0.02).toBeLessThan(spokenSeconds * 1.3);
    expect(frames.filter((f) => f.type === 'dtmf').map((f) => f.data.digit)).toEqual(['0']);

    const record = await endedCallRecord(gw, caller, 1);
    expect(record.end_reason).toBe('agent_hangup');
    expect(record.transcript.map((t: { text: string }) => t.text)).toContain(REPLY_TEXT);
  }, 90_000);

  it('holds the limits: a second call waits with music and reaches the platform only when the first ends', async () => {
    const first = '+15557200011';
    const second = '+15557200012';
    const firstCall = await dialFromPhone(sip, LIMITED_NUMBER, first, 60_000);
    let secondCall: PhoneCall | undefined;
    try {
      expect(await eventually(async () => sockets.get(first), 20_000)).toBeDefined();
      secondCall = await dialFromPhone(sip, LIMITED_NUMBER, second, 60_000);
      const secondPhone = secondCall.phone;
      // Answered and on hold: music, and the queue shows it, but the platform never heard of it.
      expect(
        await eventually(async () => secondPhone.heard.firstSoundAt, 20_000),
        worker.logs().slice(-3000),
      ).toBeDefined();
      const queued = await gw.request('GET', '/api/calls/queue');
      expect((queued.body.queued as { from_number: string }[]).map((q) => q.from_number)).toEqual([
        second,
      ]);
      const before = secondPhone.heard.soundFrames;
      await new Promise((r) => setTimeout(r, 2000));
      expect(secondPhone.heard.soundFrames - before).toBeGreaterThan(50);
      expect(sockets.has(second)).toBe(false);

      // The platform ends the first call: its place goes to the second, which now reaches it.
      sockets.get(first)!.send(JSON.stringify({ type: 'hangup', data: { reason: 'done' } }));
      expect(await eventually(async () => sockets.get(second), 20_000)).toBeDefined();
      sockets.get(second)!.send(JSON.stringify({ type: 'hangup', data: { reason: 'done' } }));
      const secondSipp = await secondCall.call.done;
      expect(secondSipp.code, secondSipp.stderr).toBe(0);
    } finally {
      firstCall.hangUp();
      secondCall?.hangUp();
    }
    const record = await endedCallRecord(gw, second, 1);
    expect(record.end_reason).toBe('agent_hangup');
    expect(record.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['queued', 'admitted']),
    );
  }, 120_000);

  it('on hold the caller hears music and the platform gets nothing from the caller; on resume both flow again', async () => {
    const caller = '+15557200021';
    const { phone, call, hangUp } = await dialFromPhone(sip, NUMBER, caller, 60_000);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      const socket = await eventually(async () => sockets.get(caller), 20_000);
      expect(socket).toBeDefined();
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      const live = await eventually(async () => {
        const list = await gw.request('GET', '/api/calls/active');
        return (list.body.items as { id: string; from_number: string; status: string }[]).find(
          (c) => c.from_number === caller && c.status === 'active',
        );
      }, 10_000);
      expect(live).toBeDefined();
      const fromCaller = () =>
        received.get(socket!)!.filter((f) => f.type === 'audio_data' || f.type === 'dtmf').length;

      const held = await gw.request('POST', `/api/calls/${live!.id}/hold`);
      expect(held.status, JSON.stringify(held.body)).toBe(200);
      expect(held.body.on_hold).toBe(true);
      await sleep(500);
      const beforeHold = fromCaller();
      phone.pressKey('5');
      const music = phone.heard.soundFrames;
      await sleep(3000);
      expect(phone.heard.soundFrames - music, 'music on hold').toBeGreaterThan(100);
      expect(fromCaller() - beforeHold, 'frames reached the platform while held').toBe(0);

      const resumed = await gw.request('POST', `/api/calls/${live!.id}/resume`);
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
      const afterResume = fromCaller();
      await sleep(1000);
      expect(fromCaller() - afterResume).toBeGreaterThan(30);
      // The platform hangs up on 0: keys reach it again.
      phone.pressKey('0');
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const digits = received
      .get(sockets.get(caller)!)!
      .filter((f) => f.type === 'dtmf')
      .map((f) => f.data.digit);
    expect(digits).toEqual(['0']);
    const record = await endedCallRecord(gw, caller, 1);
    expect(record.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['hold', 'resume']),
    );
  }, 90_000);

  it('records a bridged call in stereo: the platform right, then the caller left', async () => {
    const caller = '+15557200031';
    const utterance = speechAsUlaw('Hello platform, please record what I am saying now.');
    const { phone, call, hangUp } = await dialFromPhone(sip, RECORDED_NUMBER, caller, 30_000);
    let spokeAt = 0;
    try {
      // The platform answers auth with one second of tone; the caller speaks after it.
      const heard = await eventually(async () => phone.heard.firstSoundAt, 20_000);
      expect(heard).toBeDefined();
      await new Promise((r) => setTimeout(r, 2500));
      spokeAt = Date.now();
      phone.say(utterance);
      await new Promise((r) => setTimeout(r, (utterance.length / 8000) * 1000 + 800));
      phone.pressKey('0');
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const record = await endedCallRecord(gw, caller, 1);
    const ready = await eventually(async () => {
      const full = (await gw.request('GET', `/api/calls/${record.id}`)).body;
      const event = (full.events as { type: string; data: Record<string, unknown> }[])
        .filter((e) => e.type === 'recording')
        .at(-1);
      return event?.data.status === 'ready' ? event.data : undefined;
    }, 30_000);
    expect(ready, 'no finished recording reported').toBeDefined();
    const response = await fetch(`${gw.url}/api/calls/${record.id}/recording`, {
      headers: { authorization: `Bearer ${gw.adminKey}` },
    });
    expect(response.status).toBe(200);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-bridge-rec-')), 'call.ogg');
    writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    const pcm = execFileSync(
      'ffmpeg',
      ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '2', '-ar', '8000', '-'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    // RMS per 100 ms window of each channel.
    const rms: [number[], number[]] = [[], []];
    for (let at = 0; at + 1600 <= samples.length; at += 1600) {
      for (const ch of [0, 1]) {
        let sum = 0;
        for (let i = at + ch; i < at + 1600; i += 2) sum += samples[i]! ** 2;
        rms[ch]!.push(Math.sqrt(sum / 800));
      }
    }
    const [left, right] = rms;
    const answeredAt = Date.parse(record.answered_at);
    const spokeS = (spokeAt - answeredAt) / 1000;
    const loud = (ch: number[], from: number, to: number) =>
      ch.slice(Math.max(0, Math.round(from * 10)), Math.round(to * 10)).filter((v) => v > 300)
        .length;
    console.log(
      `bridged recording: ${left.length / 10} s; platform tone ${loud(right, 0, spokeS)} loud windows before the caller spoke, caller ${loud(left, spokeS, spokeS + 3)} while speaking`,
    );
    // Cut to the answered call.
    const callSeconds = (Date.parse(record.ended_at) - answeredAt) / 1000;
    expect(Math.abs(left.length / 10 - callSeconds)).toBeLessThan(1);
    // The platform's one-second tone, on the right only.
    expect(loud(right, 0, spokeS)).toBeGreaterThan(6);
    expect(loud(left, 0, spokeS - 0.3)).toBeLessThan(3);
    // The caller's sentence, on the left only.
    expect(loud(left, spokeS, spokeS + 3.5)).toBeGreaterThan(10);
    expect(loud(right, spokeS + 0.2, spokeS + 3)).toBeLessThan(3);
  }, 90_000);
});
