import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import {
  PROVIDER_KEYS,
  PROVIDER_POLICY,
  pipelineSettings,
  startPipelineProviders,
  type PipelineProviders,
} from './helpers/pipeline-providers.js';
import { keyTonesAsUlaw, speechAsUlaw } from './helpers/rtp-peer.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// In-band DTMF in the pipeline and bridge modes: sipp calls LiveKit SIP, the test's RTP peer
// (the phone) sends keys as tones in its PCMU audio. Pipeline: the keys reach the menu and the
// LLM as RFC 2833 keys do; bridge: the platform gets the same `dtmf` frames.

const stack = inject('stack');
const sip = { host: stack.sipHost, port: stack.sipPort };
const AGENT = 'inband-dtmf-modes-test';
const PIPELINE = '+15551280001';
const BRIDGE_INBAND = '+15551280002';
const BRIDGE_BOTH = '+15551280003';
const PIPELINE_BOTH = '+15551280004';
const GREETING = 'Press one or two.';
const SPEECH = 'One, two, five. Please give me the sales department, nine nine.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- frames are arbitrary JSON
type Frame = any;
let gw: TestGateway;
let worker: TestAgentWorker;
let providers: PipelineProviders;
let platform: WebSocketServer;
/** What the platform received, by the caller's number. */
const received = new Map<string, Frame[]>();

beforeAll(async () => {
  providers = await startPipelineProviders({
    chatReply: 'Sure.',
    transcript: 'please give me the sales department',
  });
  platform = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => platform.once('listening', r));
  platform.on('connection', (socket: WebSocket) => {
    let frames: Frame[] = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.type === 'auth') received.set(frame.call.from_number, (frames = []));
      frames.push(frame);
      // The platform ends the call on #.
      if (frame.type === 'dtmf' && frame.data.digit === '#') {
        socket.send(JSON.stringify({ type: 'hangup', data: { reason: 'caller pressed #' } }));
      }
    });
  });
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT, ...PROVIDER_POLICY },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'inband_modes', [PIPELINE, BRIDGE_INBAND, BRIDGE_BOTH, PIPELINE_BOTH]);
  await agentLine(gw, {
    trunkId: 'inband_modes',
    name: 'pipeline-tones',
    numbers: [PIPELINE],
    settings: {
      ...pipelineSettings(providers, {
        greeting: GREETING,
        system_prompt: 'You answer the phone.',
      }),
      dtmf_mode: 'inband',
      silence_timeout_seconds: 60,
      ivr: {
        prompt: GREETING,
        timeout_seconds: 30,
        options: {
          '1': { say: 'You pressed one.' },
          '2': { say: 'Connecting you.', agent: true },
        },
      },
    },
  });
  // dtmf_mode left at its default, both: RFC 2833 events and tones, each key once.
  await agentLine(gw, {
    trunkId: 'inband_modes',
    name: 'pipeline-both',
    numbers: [PIPELINE_BOTH],
    settings: {
      ...pipelineSettings(providers, {
        greeting: GREETING,
        system_prompt: 'You answer the phone.',
      }),
      silence_timeout_seconds: 60,
      ivr: {
        prompt: GREETING,
        timeout_seconds: 30,
        options: { '1': { say: 'You pressed one.' } },
      },
    },
  });
  const url = `ws://127.0.0.1:${(platform.address() as AddressInfo).port}/calls`;
  await agentLine(gw, {
    trunkId: 'inband_modes',
    name: 'bridge-tones',
    numbers: [BRIDGE_INBAND],
    settings: { mode: 'bridge', bridge: { url }, dtmf_mode: 'inband' },
  });
  await agentLine(gw, {
    trunkId: 'inband_modes',
    name: 'bridge-both',
    numbers: [BRIDGE_BOTH],
    settings: { mode: 'bridge', bridge: { url } },
  });
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env: {
      ...PROVIDER_KEYS,
      BRIDGE_JWT_SECRET: randomBytes(32).toString('hex'),
      BRIDGE_HMAC_SECRET: randomBytes(32).toString('hex'),
    },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
  for (const client of platform?.clients ?? []) client.terminate();
  await new Promise((r) => platform?.close(r));
  await providers?.close();
});

/** Ends the caller's call through the API (LiveKit SIP sends the BYE). */
async function hangUpThroughApi(caller: string): Promise<void> {
  const list = await gw.request('GET', '/api/calls/active');
  const live = (list.body.items as { id: string; from_number: string }[]).find(
    (c) => c.from_number === caller,
  );
  expect(live, 'the call is not active').toBeDefined();
  expect((await gw.request('POST', `/api/calls/${live!.id}/hangup`)).status).toBe(200);
}

/** The worker's lines about keys and failures, for a failed assertion's message. */
const logged = () =>
  worker
    .logs()
    .split('\n')
    .filter((l) => /key pressed|error|warn/i.test(l))
    .slice(-20)
    .join('\n');

const lines = (record: { transcript: { speaker: string; text: string }[] }) =>
  record.transcript.map((t) => `${t.speaker}: ${t.text}`);
const llmAsked = (text: string) =>
  providers.openai.chatRequests.some((r) => JSON.stringify(r.body.messages.at(-1)).includes(text));

describe('in-band DTMF in pipeline mode', () => {
  it('keys sent as tones reach the menu and then the LLM; speech and RFC 2833 events do not (dtmf_mode inband)', async () => {
    const caller = '+15557810001';
    const { phone, call, hangUp } = await dialFromPhone(sip, PIPELINE, caller, 60_000);
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      await sleep(GREETING.length * 50 + 1000);
      phone.say(speechAsUlaw(SPEECH));
      await sleep(6000);
      phone.pressKey('9');
      await sleep(1500);
      phone.say(keyTonesAsUlaw('1'));
      await sleep(2500);
      // The menu hands the call to the LLM with the key as context...
      phone.say(keyTonesAsUlaw('2'));
      const handed = await eventually(
        async () => (llmAsked('The caller pressed 2 at the menu main') ? true : undefined),
        10_000,
      );
      expect(handed, `the LLM was not told of the menu key\n${logged()}`).toBe(true);
      await sleep(1500);
      // ... and a key after that reaches the LLM as an RFC 2833 key does.
      phone.say(keyTonesAsUlaw('5'));
      const told = await eventually(
        async () => (llmAsked('The caller pressed the key 5.') ? true : undefined),
        10_000,
      );
      expect(told, `the LLM was not told of the key\n${logged()}`).toBe(true);
      await hangUpThroughApi(caller);
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    // The agent's last report has the last key; a live report before it may not.
    const record =
      (await endedCallRecord(gw, caller, 3, 30_000, (r) =>
        lines(r).includes('caller: [DTMF 5]'),
      )) ?? (await endedCallRecord(gw, caller, 3));
    const said = lines(record);
    const keys = said.filter((l) => l.startsWith('caller: [DTMF'));
    expect(keys).toEqual(['caller: [DTMF 1]', 'caller: [DTMF 2]', 'caller: [DTMF 5]']);
    expect(said[said.indexOf('caller: [DTMF 1]') + 1]).toBe('agent: You pressed one.');
    expect(llmAsked('The caller pressed the key 9')).toBe(false);
  }, 90_000);
});

describe('both kinds of keys in pipeline mode', () => {
  it('a key sent both as an RFC 2833 event and as tones reaches the menu once; either alone reaches it too (dtmf_mode both)', async () => {
    const caller = '+15557810004';
    const { phone, call, hangUp } = await dialFromPhone(sip, PIPELINE_BOTH, caller, 60_000);
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      await sleep(GREETING.length * 50 + 1000);
      // The same key both ways at once, as a phone that sends both does.
      phone.say(keyTonesAsUlaw('1'));
      phone.pressKey('1');
      await sleep(3000);
      phone.say(keyTonesAsUlaw('1'));
      await sleep(3000);
      phone.pressKey('1');
      await sleep(3000);
      await hangUpThroughApi(caller);
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const said = lines(await endedCallRecord(gw, caller, 3, 30_000));
    expect(
      said.filter((l) => l.startsWith('caller: [DTMF')),
      `${said.join('\n')}\n${logged()}`,
    ).toEqual(['caller: [DTMF 1]', 'caller: [DTMF 1]', 'caller: [DTMF 1]']);
    expect(said.filter((l) => l === 'agent: You pressed one.')).toHaveLength(3);
  }, 90_000);
});

describe('in-band DTMF in bridge mode', () => {
  it('the platform gets a dtmf frame for each key sent as tones, none for speech or RFC 2833 events (dtmf_mode inband)', async () => {
    const caller = '+15557810002';
    const { phone, call, hangUp } = await dialFromPhone(sip, BRIDGE_INBAND, caller, 30_000);
    try {
      expect(await eventually(async () => received.get(caller), 20_000)).toBeDefined();
      // Audio flows to the platform before anything is said.
      await eventually(async () =>
        received.get(caller)!.some((f) => f.type === 'audio_data') ? true : undefined,
      );
      phone.say(speechAsUlaw(SPEECH));
      await sleep(6000);
      phone.pressKey('9');
      await sleep(1000);
      for (const key of ['1', '2', '#']) {
        phone.say(keyTonesAsUlaw(key));
        await sleep(600);
      }
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const dtmf = received.get(caller)!.filter((f) => f.type === 'dtmf');
    expect(dtmf.map((f) => f.data.digit)).toEqual(['1', '2', '#']);
    expect(dtmf[0].data).toMatchObject({ call_id: expect.any(String), duration_ms: 100 });
    const record = await endedCallRecord(gw, caller, 0);
    expect(record.end_reason).toBe('agent_hangup');
  }, 60_000);

  it('a key sent both as an RFC 2833 event and as tones reaches the platform once (dtmf_mode both)', async () => {
    const caller = '+15557810003';
    const { phone, call, hangUp } = await dialFromPhone(sip, BRIDGE_BOTH, caller, 20_000);
    try {
      expect(await eventually(async () => received.get(caller), 20_000)).toBeDefined();
      await sleep(1500);
      phone.say(keyTonesAsUlaw('1'));
      phone.pressKey('1');
      await sleep(1500);
      phone.say(keyTonesAsUlaw('2'));
      await sleep(1500);
      phone.pressKey('#');
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const digits = received
      .get(caller)!
      .filter((f) => f.type === 'dtmf')
      .map((f) => f.data.digit);
    expect(digits).toEqual(['1', '2', '#']);
  }, 60_000);
});
