import { SIPMediaEncryption } from '@livekit/protocol';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { agentLine } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { decodeG722, type PeerCodec } from './helpers/rtp-peer.js';
import { inviteStatus } from './helpers/sip-uac.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// A trunk's preferred_codecs decide the call's codec: the edge keeps only those in the caller's
// offer, so LiveKit SIP answers with one of them, and the caller hears the agent in it. Its
// media_encryption is LiveKit's SRTP setting, only over TLS.

const stack = inject('stack');
const AGENT = 'codecs-test';
const PCMA_DID = '+15557781001';
const G722_DID = '+15557781002';
const SRTP_DID = '+15557781003';
const ALL: PeerCodec[] = ['PCMU', 'PCMA', 'G722'];
let edge: EdgeProcess;
let gw: TestGateway;
let host: TestAgentWorker;

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  gw = await startTestGateway({
    env: {
      AGENT_NAME: AGENT,
      ...edgeEnv(edge),
      EDGE_POLL_SECONDS: '120',
    },
  });
  await clearLivekitSip(gw.sip);
  for (const [trunkId, number, codecs] of [
    ['codec_pcma', PCMA_DID, ['PCMA']],
    ['codec_g722', G722_DID, ['G722']],
  ] as const) {
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: trunkId,
      name: trunkId,
      provider: 'generic',
      numbers: [number],
      // The edge relays from 127.0.0.1: LiveKit's trunk admits it; the edge admits the caller.
      allowed_addresses: ['127.0.0.1'],
      preferred_codecs: codecs,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await agentLine(gw, {
      trunkId,
      name: `${trunkId}-line`,
      settings: { mode: 'offline', greeting: 'Hello, you are through to the codec test line.' },
    });
  }
  await gw.api.edge!.syncAdmission();
  host = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 180_000);

afterAll(async () => {
  await host?.stop();
  await gw?.close();
  await edge?.stop();
});

const viaEdge = () => ({ host: '127.0.0.1', port: edge.sipPort });

describe("a trunk's preferred codecs", () => {
  it('PCMA: a caller offering PCMU, PCMA and G722 is answered in PCMA and hears the greeting', async () => {
    const phone = await dialFromPhone(viaEdge(), PCMA_DID, '+15557782001', 8000, {
      codec: 'PCMA',
      offer: ALL,
    });
    try {
      const heard = await eventually(async () => phone.phone.heard.firstSoundAt, 30_000);
      expect(heard, 'no greeting heard in PCMA').toBeDefined();
      expect([...phone.phone.payloadTypes]).toEqual([8]);
    } finally {
      phone.hangUp();
    }
  }, 60_000);

  it('G.722: the same offer is answered in G.722, and the greeting decodes as sound', async () => {
    const phone = await dialFromPhone(viaEdge(), G722_DID, '+15557782002', 8000, {
      codec: 'G722',
      offer: ALL,
    });
    try {
      // Two seconds of audio after the first packet: the greeting is longer than that.
      const enough = await eventually(
        async () => (phone.phone.g722Payloads.length >= 150 ? true : undefined),
        30_000,
      );
      expect(enough, 'too little G.722 audio arrived').toBe(true);
      expect([...phone.phone.payloadTypes]).toEqual([9]);
    } finally {
      phone.hangUp();
    }
    const samples = decodeG722(phone.phone.g722Payloads);
    // 20 ms frames at 16 kHz: the greeting is speech, so some frames are loud.
    let loudFrames = 0;
    for (let at = 0; at + 320 <= samples.length; at += 320) {
      let sum = 0;
      for (let i = at; i < at + 320; i++) sum += samples[i]! ** 2;
      if (Math.sqrt(sum / 320) > 500) loudFrames++;
    }
    expect(loudFrames, 'the G.722 audio is silence').toBeGreaterThan(10);
  }, 60_000);

  it("an offer with none of the trunk's codecs is refused at the edge with 488", async () => {
    // inviteStatus offers PCMU only.
    expect(await inviteStatus({ ...viaEdge(), number: PCMA_DID })).toBe(488);
  });

  it('refuses a codec LiveKit SIP does not speak, naming it', async () => {
    const res = await gw.request('PUT', '/api/trunks/codec_pcma', {
      preferred_codecs: ['PCMA', 'G729'],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('preferred_codecs');
    expect(JSON.stringify(res.body)).toContain('G729 is not a codec LiveKit SIP speaks');
    const kept = await gw.request('GET', '/api/trunks/codec_pcma');
    expect(kept.body.preferred_codecs).toEqual(['PCMA']);
  });
});

describe("a trunk's media encryption", () => {
  it('is refused on a trunk whose transport is not tls, naming why', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: 'srtp_udp',
      name: 'srtp_udp',
      provider: 'generic',
      proxy_address: 'sip.example.com',
      supports_outbound: true,
      transport: 'udp',
      media_encryption: 'require',
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('media_encryption');
    expect(JSON.stringify(res.body)).toContain('needs transport tls');
    expect((await gw.request('GET', '/api/trunks/srtp_udp')).status).toBe(404);
  });

  it('require over tls: LiveKit holds the trunks with SRTP required and refuses a plain RTP call', async () => {
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: 'srtp_tls',
      name: 'srtp_tls',
      provider: 'generic',
      numbers: [SRTP_DID],
      allowed_addresses: ['127.0.0.1'],
      proxy_address: 'sip.example.com',
      supports_outbound: true,
      transport: 'tls',
      media_encryption: 'require',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.media_encryption).toBe('require');
    await agentLine(gw, {
      trunkId: 'srtp_tls',
      name: 'srtp-line',
      settings: { mode: 'offline', greeting: 'Hello.' },
    });
    const mine = (t: { metadata: string }) => t.metadata.includes(res.body.id);
    const inbound = (await gw.sip.listSipInboundTrunk()).find(mine);
    const outbound = (await gw.sip.listSipOutboundTrunk()).find(mine);
    expect(inbound?.mediaEncryption).toBe(SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE);
    expect(outbound?.mediaEncryption).toBe(SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE);
    // Straight to LiveKit SIP with an offer that has no SRTP keys.
    const status = await inviteStatus({
      host: stack.sipHost,
      port: stack.sipPort,
      number: SRTP_DID,
      untilFinal: true,
      timeoutMs: 15_000,
    });
    expect(status).toBe(400);
  });
});
