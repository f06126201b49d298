import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { agentLine } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import {
  PROVIDER_KEYS,
  PROVIDER_POLICY,
  pipelineSettings,
  startPipelineProviders,
  type PipelineProviders,
} from './helpers/pipeline-providers.js';
import { RtpPeer, speechAsUlaw } from './helpers/rtp-peer.js';
import { runSipp, type SippRun } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

// Cold transfers of INBOUND provider calls: sipp is the provider's caller, dialling a number of
// a trunk through the Kamailio edge; the REFER LiveKit SIP sends must come back to it through
// the edge with the target in Refer-To. One stack (edge, gateway, worker) for every test.

const stack = inject('stack');
const AGENT = 'cold-transfer-test';
const IVR_NUMBER = '+15551270001';
const TARGET = '+15551230000';
const QUEUE_NUMBER = '+15551270002';
const BRIDGE_NUMBER = '+15551270003';
const LLM_NUMBER = '+15551270004';
const LLM_GREETING = 'Hello, this is the front desk.';
const ASK = 'Please put me through to sales';
const COSTLY = '+19005550123';
/** The target the stand-in AI platform asks for, by the caller's number. */
const PLATFORM_TARGETS: Record<string, string> = {
  '+15557400005': TARGET,
  '+15557400006': COSTLY,
};
const scenarios = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sipp');

let edge: EdgeProcess;
let gw: TestGateway;
let worker: TestAgentWorker;
let platform: WebSocketServer;
let providers: PipelineProviders;

/** A customer's AI platform that asks for a transfer as soon as a call is bridged to it. */
async function startTransferringPlatform(): Promise<WebSocketServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  server.on('connection', (socket: WebSocket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; call?: { from_number: string } };
      const to = frame.type === 'auth' && PLATFORM_TARGETS[frame.call?.from_number ?? ''];
      if (!to) return;
      socket.send(JSON.stringify({ type: 'response', data: { text: 'One moment.' } }));
      // As a platform does after a turn or two: the call is answered and talking by then.
      setTimeout(() => socket.send(JSON.stringify({ type: 'transfer', data: { to } })), 3000);
    });
  });
  return server;
}

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      ...PROVIDER_POLICY,
      ...edgeEnv(edge),
    },
  });
  await clearLivekitSip(gw.sip);
  // LiveKit sees the edge's address (127.0.0.1), so the trunk admits it.
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: 'xfer_in',
    name: 'xfer_in',
    provider: 'generic',
    numbers: [IVR_NUMBER, QUEUE_NUMBER, BRIDGE_NUMBER, LLM_NUMBER],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  await agentLine(gw, {
    trunkId: 'xfer_in',
    name: 'xfer-ivr',
    numbers: [IVR_NUMBER],
    settings: {
      mode: 'offline',
      greeting: 'Press 1 for sales or 2 for the premium line.',
      silence_timeout_seconds: 60,
      ivr: {
        prompt: 'Press 1 for sales or 2 for the premium line.',
        timeout_seconds: 20,
        options: {
          '1': { say: 'Transferring you to sales.', transfer: TARGET },
          '2': { say: 'Transferring you to the premium line.', transfer: COSTLY },
        },
      },
    },
  });
  await agentLine(gw, {
    trunkId: 'xfer_in',
    name: 'xfer-queue',
    numbers: [QUEUE_NUMBER],
    settings: {
      mode: 'offline',
      greeting: 'This is the queue line.',
      silence_timeout_seconds: 60,
      max_concurrent_calls: 1,
      queue: {
        max_wait_seconds: 4,
        announce_position_seconds: 30,
        timeout_message: 'Everyone is busy. Transferring you.',
        timeout_transfer_to: TARGET,
      },
    },
  });
  providers = await startPipelineProviders({ chatReply: 'Putting you through.', transcript: ASK });
  // The stand-in model answers the caller's ask with the transfer tool.
  providers.openai.toolCall = { name: 'transfer_call', arguments: { target: 'sales' } };
  await agentLine(gw, {
    trunkId: 'xfer_in',
    name: 'xfer-llm',
    numbers: [LLM_NUMBER],
    settings: {
      ...pipelineSettings(providers, {
        greeting: LLM_GREETING,
        system_prompt: 'You put callers through to sales.',
      }),
      tools: { transfer: true, hangup: true, dtmf: false, transfer_targets: { sales: TARGET } },
    },
  });
  platform = await startTransferringPlatform();
  await agentLine(gw, {
    trunkId: 'xfer_in',
    name: 'xfer-bridge',
    numbers: [BRIDGE_NUMBER],
    settings: {
      mode: 'bridge',
      bridge: { url: `ws://127.0.0.1:${(platform.address() as AddressInfo).port}/calls` },
    },
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
  await edge?.stop();
  for (const client of platform?.clients ?? []) client.terminate();
  await new Promise((r) => platform?.close(r));
  await providers?.close();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `caller` dials `number` through the edge with test/sipp/uac-transfer-refer.xml, expecting a
 * REFER whose Refer-To matches `referTo` within `holdMs`; with `refused`, no REFER is the
 * expected outcome and the caller hangs up after `holdMs`.
 */
async function dialThroughEdge(options: {
  number: string;
  caller: string;
  referTo: string;
  holdMs: number;
  refused?: boolean;
}): Promise<{ phone: RtpPeer; call: SippRun; hangUp(): void }> {
  const phone = await RtpPeer.open(500, 'PCMU');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-'));
  let scenario = readFileSync(path.join(scenarios, 'uac-transfer-refer.xml'), 'utf8')
    .replaceAll('[rtp_port]', String(phone.port))
    .replaceAll('[hold_ms]', String(options.holdMs))
    .replaceAll('[refer_to]', options.referTo.replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
  if (options.refused)
    scenario = scenario.replace(
      'timeout="' + options.holdMs + '"',
      `timeout="${options.holdMs}" ontimeout="no_refer"`,
    );
  const file = path.join(dir, 'scenario.xml');
  writeFileSync(file, scenario);
  const call = runSipp(
    [
      `127.0.0.1:${edge.sipPort}`,
      '-sf',
      file,
      '-s',
      options.number,
      '-key',
      'caller',
      options.caller,
      '-i',
      '127.0.0.1',
      '-p',
      '0',
      '-m',
      '1',
      '-timeout',
      `${Math.ceil(options.holdMs / 1000) + 60}s`,
      '-timeout_error',
      '-nostdin',
      '-trace_err',
    ],
    dir,
  );
  return {
    phone,
    call,
    hangUp() {
      call.stop();
      phone.close();
    },
  };
}

const referToTel = (number: string) => `^ *<?tel:\\${number}>?$`;

type Dial = Awaited<ReturnType<typeof dialThroughEdge>>;
type CallRecord = Awaited<ReturnType<typeof endedCallRecord>>;

/**
 * One call through the edge: `act` plays the caller's part, sipp's scenario must end well (the
 * REFER it expects came, or for `refused` none did), then the call's ended record.
 */
async function callThroughEdge(
  options: Parameters<typeof dialThroughEdge>[0] & { transcriptLines: number },
  act: (dial: Dial) => Promise<void> = async () => undefined,
): Promise<CallRecord> {
  const dial = await dialThroughEdge(options);
  try {
    await act(dial);
    const sipp = await dial.call.done;
    expect(sipp.code, `sipp: ${sipp.stderr}`).toBe(0);
  } finally {
    dial.hangUp();
  }
  return endedCallRecord(gw, options.caller, options.transcriptLines, 30_000);
}

function expectTransferredToTarget(record: CallRecord): void {
  expect(record.end_reason).toBe('transferred');
  const transferred = record.events.find((e: { type: string }) => e.type === 'transferred');
  expect(transferred?.data).toMatchObject({ to: `tel:${TARGET}` });
}

function expectRefusedAndGoingOn(record: CallRecord): void {
  const types = record.events.map((e: { type: string }) => e.type);
  expect(types).toContain('transfer_refused');
  expect(types).not.toContain('transferred');
  // The call went on until the caller hung up.
  expect(record.end_reason).toBe('caller_hangup');
}

const heardTheAgent = async (dial: Dial) => {
  expect(await eventually(async () => dial.phone.heard.firstSoundAt, 30_000)).toBeDefined();
};

describe('cold transfer of an inbound provider call', () => {
  it('an IVR transfer action sends the REFER to the provider through the edge; the record ends transferred', async () => {
    const record = await callThroughEdge(
      {
        number: IVR_NUMBER,
        caller: '+15557400001',
        referTo: referToTel(TARGET),
        holdMs: 40_000,
        transcriptLines: 1,
      },
      async (dial) => {
        await heardTheAgent(dial);
        await pause(1500);
        dial.phone.pressKey('1');
      },
    );
    expectTransferredToTarget(record);
  }, 120_000);

  it('an IVR transfer to a number the destination policy refuses sends no REFER; the call goes on', async () => {
    const record = await callThroughEdge(
      {
        number: IVR_NUMBER,
        caller: '+15557400002',
        referTo: '.*',
        holdMs: 15_000,
        refused: true,
        transcriptLines: 1,
      },
      async (dial) => {
        await heardTheAgent(dial);
        await pause(1500);
        dial.phone.pressKey('2');
      },
    );
    expectRefusedAndGoingOn(record);
    // The caller is told.
    expect(record.transcript.map((t: { text: string }) => t.text)).toContain(
      'Sorry, the transfer did not go through.',
    );
  }, 120_000);

  it('the queue timeout transfers the waiting caller through the edge; the record ends transferred', async () => {
    // The first caller takes the line's only place and stays; no REFER is expected for it.
    const first = await dialThroughEdge({
      number: QUEUE_NUMBER,
      caller: '+15557400003',
      referTo: '.*',
      holdMs: 25_000,
      refused: true,
    });
    try {
      await heardTheAgent(first);
      const record = await callThroughEdge({
        number: QUEUE_NUMBER,
        caller: '+15557400004',
        referTo: referToTel(TARGET),
        holdMs: 40_000,
        transcriptLines: 1,
      });
      expectTransferredToTarget(record);
      expect(record.transcript.map((t: { text: string }) => t.text)).toContain(
        'Everyone is busy. Transferring you.',
      );
    } finally {
      first.hangUp();
    }
  }, 120_000);

  it("a bridge platform's transfer frame sends the REFER through the edge; the record ends transferred", async () => {
    const record = await callThroughEdge({
      number: BRIDGE_NUMBER,
      caller: '+15557400005',
      referTo: referToTel(TARGET),
      holdMs: 20_000,
      transcriptLines: 0,
    });
    expectTransferredToTarget(record);
  }, 120_000);

  it("a bridge platform's transfer to a refused number sends no REFER; the call goes on", async () => {
    const record = await callThroughEdge({
      number: BRIDGE_NUMBER,
      caller: '+15557400006',
      referTo: '.*',
      holdMs: 10_000,
      refused: true,
      transcriptLines: 0,
    });
    expectRefusedAndGoingOn(record);
  }, 120_000);

  it('the LLM tool transfer_call sends the REFER through the edge; the record ends transferred', async () => {
    const record = await callThroughEdge(
      {
        number: LLM_NUMBER,
        caller: '+15557400007',
        referTo: referToTel(TARGET),
        holdMs: 40_000,
        transcriptLines: 1,
      },
      async (dial) => {
        await heardTheAgent(dial);
        // After the greeting (0.05 s of stand-in audio per character), the caller asks.
        await pause(LLM_GREETING.length * 50 + 1000);
        dial.phone.say(speechAsUlaw(ASK));
      },
    );
    expectTransferredToTarget(record);
  }, 120_000);
});
