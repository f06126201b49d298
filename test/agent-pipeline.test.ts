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

// A phone call through the pipeline profile: the real Deepgram, OpenAI and ElevenLabs plugins,
// pointed at local stand-ins for those paid cloud APIs (test/standins), which record what the
// real providers would have received.

const stack = inject('stack');
const AGENT = 'agent-pipeline-test';
const NUMBER = '+15551240000';
/** Named its own profile (the menu one) through its number, not the rule. */
const MENU_NUMBER = '+15551240009';
const UTTERANCE = 'I would like to book a table for two people tonight';
const REPLY = 'Certainly, a table for two tonight. What time would you like?';
const GREETING = 'Good evening, this is the restaurant line.';
const MENU_GREETING = 'Press 2 to enter your PIN.';
const SYSTEM_PROMPT = 'You take restaurant bookings by phone. Keep answers short.';
let gw: TestGateway;
let worker: TestAgentWorker;
let providers: PipelineProviders;

beforeAll(async () => {
  providers = await startPipelineProviders({ chatReply: REPLY, transcript: UTTERANCE });
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT, ...PROVIDER_POLICY },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'pipeline_test', [NUMBER, MENU_NUMBER]);
  await agentLine(gw, {
    trunkId: 'pipeline_test',
    name: 'restaurant',
    settings: pipelineSettings(providers, { greeting: GREETING, system_prompt: SYSTEM_PROMPT }),
  });
  const menuProfile = await gw.request('POST', '/api/agents', {
    name: 'menu-desk',
    settings: {
      ...(await gw.request('GET', '/api/agents')).body.items?.[0]?.settings,
      greeting: MENU_GREETING,
      ivr: {
        prompt: MENU_GREETING,
        options: {
          '2': { collect: { prompt: 'Enter your PIN.', digits: 4 }, agent: true },
        },
      },
    },
  });
  expect(menuProfile.status, JSON.stringify(menuProfile.body)).toBe(201);
  const numbered = await gw.request('PUT', `/api/numbers/${encodeURIComponent(MENU_NUMBER)}`, {
    agent_profile_id: menuProfile.body.id,
  });
  expect(numbered.status).toBe(200);
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

describe('a phone call through STT, LLM and TTS providers', () => {
  it('hears the caller, asks the LLM with the transcript, and speaks its reply', async () => {
    const caller = '+15557100001';
    const phone = await RtpPeer.open();
    const utterance = speechAsUlaw(UTTERANCE);
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: NUMBER,
      caller,
      rtpPort: phone.port,
      holdMs: 16_000,
    });
    let saidAt = 0;
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      // After the greeting (0.05 s of stand-in audio per character), the caller speaks.
      await new Promise((r) => setTimeout(r, GREETING.length * 50 + 1000));
      saidAt = Date.now();
      phone.say(utterance);
      const replied = await eventually(async () =>
        providers.openai.chatRequests.length ? true : undefined,
      );
      expect(replied, 'the LLM was never asked').toBe(true);
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }

    // Deepgram received the caller's audio at the phone line's rate (nothing resampled it on the
    // way up), as it was told, and the whole utterance.
    const listen = providers.deepgram.listenSessions[0]!;
    expect(listen.authorization).toBe('Token dg-test-key');
    expect(listen.encoding).toBe('linear16');
    expect(listen.sampleRate).toBe(8000);
    // Measured the same way on both sides: first to last voiced 10 ms window (espeak-ng pads
    // its speech with silence, which neither side counts).
    const sentSpan = speechSpan(Int16Array.from(utterance, ulawToLinear), 8000)!;
    const spoken = sentSpan.end - sentSpan.start;
    const heard = listen.speech!.end - listen.speech!.start;
    console.log(`utterance: ${spoken.toFixed(2)} s voiced sent, ${heard.toFixed(2)} s received`);
    // None of it was cut off. It may come out longer: when the test's RTP sender is late
    // on a loaded machine, the jitter buffer fills the gap and stretches it in sample time.
    expect(heard).toBeGreaterThan(spoken - 0.3);
    expect(heard).toBeLessThan(spoken + 1.5);

    // The LLM got the profile's prompt and the caller's words.
    const chat = providers.openai.chatRequests[0]!;
    expect(chat.authorization).toBe('Bearer sk-test-key');
    expect(chat.body.messages[0]).toMatchObject({ role: 'system' });
    expect(JSON.stringify(chat.body.messages[0])).toContain(SYSTEM_PROMPT);
    expect(JSON.stringify(chat.body.messages.at(-1))).toContain(UTTERANCE);

    // ElevenLabs was asked to say the greeting and the reply; the caller heard the reply.
    const spoken16k = providers.elevenlabs.sessions.flatMap((s) =>
      [...s.contexts.values()].map((c) => c.spoken.join('').replace(/\s+/g, ' ').trim()),
    );
    expect(spoken16k.join(' ')).toContain(GREETING);
    expect(spoken16k.join(' ')).toContain(REPLY);
    expect(phone.soundFramesSince(saidAt + (utterance.length / 8000) * 1000)).toBeGreaterThan(
      REPLY.length * 2,
    );

    // The live transcript can reach the record before the final report with the latency.
    const record = await eventually(async () => {
      const ended = await endedCallRecord(gw, caller, 3);
      return ended?.latency?.turns?.length ? ended : undefined;
    }, 25_000);
    expect(record, 'no call record with a transcript and its turns').toBeDefined();
    const lines = record.transcript.map((t: { speaker: string; text: string }) => [
      t.speaker,
      t.text,
    ]);
    expect(lines).toContainEqual(['caller', UTTERANCE]);
    expect(lines).toContainEqual(['agent', REPLY]);
    // One turn, with its parts: endpointing, STT, LLM first token, TTS first byte.
    const turn = record.latency.turns[0];
    expect(turn.total_ms).toBeGreaterThan(0);
    // End of the caller's speech to the reply's first audio, with stand-ins that answer at once.
    expect(turn.total_ms).toBeLessThan(2500);
    expect(turn.llm_ms, JSON.stringify(record.latency)).not.toBeNull();
    expect(turn.tts_ms).not.toBeNull();
  }, 90_000);

  it('hands the call from the menu to the LLM with the key and the digits as context', async () => {
    const caller = '+15557100002';
    const phone = await RtpPeer.open();
    const asked = providers.openai.chatRequests.length;
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: MENU_NUMBER,
      caller,
      rtpPort: phone.port,
      holdMs: 14_000,
    });
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      await new Promise((r) => setTimeout(r, MENU_GREETING.length * 50 + 800));
      phone.pressKey('2');
      await new Promise((r) => setTimeout(r, 1500));
      for (const key of '1234') {
        phone.pressKey(key);
        await new Promise((r) => setTimeout(r, 250));
      }
      const handed = await eventually(
        async () => (providers.openai.chatRequests.length > asked ? true : undefined),
        8000,
      );
      expect(handed, 'the LLM was never asked after the menu').toBe(true);
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }
    const chat = providers.openai.chatRequests[asked]!;
    expect(JSON.stringify(chat.body.messages.at(-1))).toContain(
      'The caller pressed 2 at the menu main and entered 1234.',
    );
  }, 60_000);

  it('greets the next caller with the greeting the host kept: ElevenLabs says it once more in all, not once a call', async () => {
    // The first call spoke the greeting live and had it rendered once more (HTTP) to keep.
    const greetings = () =>
      providers.elevenlabs.sessions
        .flatMap((s) => [...s.contexts.values()].map((c) => c.spoken.join('')))
        .filter((text) => text.includes(GREETING)).length +
      providers.elevenlabs.httpRequests.filter((r) => JSON.stringify(r.body).includes(GREETING))
        .length;
    const before = await eventually(
      async () => (greetings() >= 2 ? greetings() : undefined),
      10_000,
    );
    expect(before, 'the greeting was never rendered to keep').toBe(2);
    for (const caller of ['+15557100003', '+15557100004']) {
      const phone = await RtpPeer.open();
      const call = sippAgentCall({
        host: stack.sipHost,
        port: stack.sipPort,
        number: NUMBER,
        caller,
        rtpPort: phone.port,
        holdMs: 6_000,
      });
      try {
        const firstSound = await eventually(async () => phone.heard.firstSoundAt, 20_000);
        expect(firstSound, 'no greeting').toBeDefined();
        await call.done;
        // The stand-in's greeting is 0.05 s of tone per character: heard whole, in 20 ms frames.
        expect(phone.soundFramesSince(firstSound!)).toBeGreaterThan(GREETING.length * 2);
      } finally {
        call.stop();
        phone.close();
      }
    }
    expect(greetings()).toBe(before);
  }, 90_000);
});
