import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer, speechAsUlaw, ulawToLinear } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import {
  PROVIDER_KEYS,
  PROVIDER_POLICY,
  pipelineSettings,
  startPipelineProviders,
  type PipelineProviders,
} from './helpers/pipeline-providers.js';
import { eventually } from './helpers/wait.js';
import { speechSpan } from './standins/audio.js';

// Barge-in on a phone call through the pipeline: the caller talks over the agent's long reply
// and the agent stops; a cough-length noise does not stop it. The real plugins talk to local
// stand-ins for the paid APIs (test/standins).

const stack = inject('stack');
const AGENT = 'agent-barge-in-test';
const NUMBER = '+15551250000';
const GREETING = 'Hello, this is the opening hours line.';
const QUESTION = 'When are you open on Sunday';
const REPLY =
  'On Sundays we open at ten in the morning and close at six in the evening, except on public holidays, when we open at noon and close at four, and in August, when we are closed all day.';
const INTERRUPTION = 'Sorry, wait a moment please';
// Silence the agent's audio must keep for the reply to count as stopped (its words have gaps
// of a frame or two only; the stand-in speaks one tone per character).
const STOPPED_GAP_MS = 300;
let gw: TestGateway;
let worker: TestAgentWorker;
let providers: PipelineProviders;

/** A cough-length burst of noise (150 ms), as 8 kHz mu-law. */
function coughAsUlaw(): Buffer {
  return execFileSync('sox', [
    '-n',
    '-r',
    '8000',
    '-c',
    '1',
    '-t',
    'ul',
    '-',
    'synth',
    '0.15',
    'pinknoise',
    'vol',
    '0.6',
  ]);
}

beforeAll(async () => {
  providers = await startPipelineProviders({ chatReply: REPLY, transcript: QUESTION });
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT, ...PROVIDER_POLICY },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'barge_in_test', [NUMBER]);
  await agentLine(gw, {
    trunkId: 'barge_in_test',
    name: 'opening-hours',
    settings: pipelineSettings(providers, {
      greeting: GREETING,
      system_prompt: 'You answer questions about opening hours.',
    }),
  });
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env: PROVIDER_KEYS,
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
  await providers?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('talking over the agent', () => {
  it('a cough does not stop the reply; speech does, within a bound', async () => {
    const caller = '+15557150001';
    const phone = await RtpPeer.open();
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: NUMBER,
      caller,
      rtpPort: phone.port,
      holdMs: 20_000,
    });
    const question = speechAsUlaw(QUESTION);
    const interruption = speechAsUlaw(INTERRUPTION);
    // Where the voiced part of the interruption starts, after espeak-ng's leading silence.
    const voicedFrom = speechSpan(Int16Array.from(interruption, ulawToLinear), 8000)!.start;
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      await sleep(GREETING.length * 50 + 1000);
      const askedAt = Date.now();
      phone.say(question);
      // The reply starts: sound again after the question was sent.
      const questionEnds = askedAt + (question.length / 8000) * 1000;
      const replyAt = await eventually(
        async () => phone.soundAt.find((t) => t > questionEnds + 200),
        15_000,
      );
      expect(replyAt, 'the agent never replied').toBeDefined();

      await sleep(1500);
      const coughAt = Date.now();
      phone.say(coughAsUlaw());
      await sleep(2000);
      // Still talking through the second after the cough (50 frames a second).
      const through = phone.soundAt.filter((t) => t > coughAt + 800 && t <= coughAt + 1800);
      expect(through.length, 'the agent stopped for a cough').toBeGreaterThan(35);
      expect(phone.soundStoppedAfter(coughAt, STOPPED_GAP_MS)).toBeUndefined();

      const bargeAt = Date.now() + voicedFrom * 1000;
      phone.say(interruption);
      const stoppedAt = await eventually(
        async () => phone.soundStoppedAfter(bargeAt, STOPPED_GAP_MS),
        6000,
      );
      expect(stoppedAt, 'the agent talked on over the caller').toBeDefined();
      const bargeInMs = stoppedAt! - bargeAt;
      console.log(`barge-in: the agent stopped ${bargeInMs} ms after the caller began to speak`);
      // The interruption needs 300 ms of speech (minDuration) plus the VAD's window; the
      // rest of the bound is for a loaded machine.
      expect(bargeInMs).toBeLessThan(2000);
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }

    const record = await eventually(async () => {
      const ended = await endedCallRecord(gw, caller, 3);
      return ended?.latency?.turns?.length ? ended : undefined;
    }, 25_000);
    expect(record, 'no call record with its turns').toBeDefined();
    // The first turn's latency, end of the question to the reply's first audio, is bounded.
    const turn = record.latency.turns[0];
    console.log(`turn latency: ${JSON.stringify(turn)}`);
    expect(turn.total_ms).toBeGreaterThan(0);
    expect(turn.total_ms).toBeLessThan(2500);
  }, 120_000);
});
