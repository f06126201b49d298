import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { keyTonesAsUlaw, speechAsUlaw } from './helpers/rtp-peer.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// In-band DTMF on a phone call: sipp calls LiveKit SIP, the test's RTP peer (the phone) sends
// the keys as tones in its PCMU audio, no RFC 2833 events; the offline agent's menu answers.

const stack = inject('stack');
const AGENT = 'inband-dtmf-test';
const sip = { host: stack.sipHost, port: stack.sipPort };
const INBAND = '+15551250001';
const BOTH = '+15551250002';
let gw: TestGateway;
let worker: TestAgentWorker;
const menu = {
  prompt: 'Press 1 or 2.',
  options: {
    '1': { say: 'You pressed one.' },
    '2': { say: 'You pressed two.' },
    '9': { say: 'You pressed nine.' },
  },
};

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'inband_test', [INBAND, BOTH]);
  await agentLine(gw, {
    trunkId: 'inband_test',
    name: 'inband-only',
    numbers: [INBAND],
    settings: { mode: 'offline', greeting: 'Tones only.', ivr: menu, dtmf_mode: 'inband' },
  });
  await agentLine(gw, {
    trunkId: 'inband_test',
    name: 'both-ways',
    numbers: [BOTH],
    settings: { mode: 'offline', greeting: 'Tones or events.', ivr: menu },
  });
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

const tones = keyTonesAsUlaw;
const lines = (record: { transcript: { speaker: string; text: string }[] }) =>
  record.transcript.map((t) => `${t.speaker}: ${t.text}`);

describe('in-band DTMF on a phone call', () => {
  it('answers keys sent as tones in the audio, and not speech or RFC 2833 events (dtmf_mode inband)', async () => {
    const caller = '+15557200001';
    const { phone, call, hangUp } = await dialFromPhone(sip, INBAND, caller, 16_000);
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      await new Promise((r) => setTimeout(r, 1500));
      phone.say(speechAsUlaw('One, two, nine. Please give me the sales department.'));
      await new Promise((r) => setTimeout(r, 4500));
      phone.pressKey('9');
      await new Promise((r) => setTimeout(r, 1500));
      phone.say(tones('1'));
      await new Promise((r) => setTimeout(r, 2500));
      phone.say(tones('2'));
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const said = lines(await endedCallRecord(gw, caller));
    const keys = said.filter((l) => l.startsWith('caller: [DTMF'));
    expect(keys).toEqual(['caller: [DTMF 1]', 'caller: [DTMF 2]']);
    expect(said[said.indexOf('caller: [DTMF 1]') + 1]).toBe('agent: You pressed one.');
    expect(said[said.indexOf('caller: [DTMF 2]') + 1]).toBe('agent: You pressed two.');
  }, 60_000);

  it('counts a key sent both as an RFC 2833 event and as tones once (dtmf_mode both)', async () => {
    const caller = '+15557200002';
    const { phone, call, hangUp } = await dialFromPhone(sip, BOTH, caller, 12_000);
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      await new Promise((r) => setTimeout(r, 1500));
      // A provider that sends both: the tones in the audio and the event beside them.
      phone.say(tones('1'));
      phone.pressKey('1');
      await new Promise((r) => setTimeout(r, 2500));
      phone.say(tones('2'));
      await new Promise((r) => setTimeout(r, 2500));
      phone.pressKey('9');
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      hangUp();
    }
    const keys = lines(await endedCallRecord(gw, caller)).filter((l) =>
      l.startsWith('caller: [DTMF'),
    );
    expect(keys).toEqual(['caller: [DTMF 1]', 'caller: [DTMF 2]', 'caller: [DTMF 9]']);
  }, 60_000);
});
