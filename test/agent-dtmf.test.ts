import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { eventually } from './helpers/wait.js';
import { startSippUas } from './sipp/uas.js';

// The agent presses keys on an outbound call (to get through another company's menu): the API
// asks the call's agent, the agent publishes DTMF in the room, LiveKit SIP sends RFC 2833
// events, and the far end (sipp answering, the test's RTP peer as its media) receives them.

const stack = inject('stack');
const AGENT = 'agent-dtmf-test';
let gw: TestGateway;
let worker: TestAgentWorker;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: 'dtmf_out',
    name: 'sipp UAS',
    provider: 'generic',
    supports_inbound: false,
    proxy_address: '127.0.0.1:5060',
    numbers: ['+15550100400'],
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    // Each dial LiveKit SIP refuses while the machine is busy (503, retried below) still sends
    // an agent, which waits a minute for a callee that never comes: room for those.
    env: { CALL_HOST_CAPACITY: '60' },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

describe('the agent sends DTMF', () => {
  it('sends keys to the far end of an outbound call as RFC 2833 events', async () => {
    const ear = await RtpPeer.open();
    const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 90, rtpPort: ear.port });
    try {
      const moved = await gw.request('PUT', '/api/trunks/dtmf_out', {
        proxy_address: `127.0.0.1:${uas.port}`,
      });
      expect(moved.status).toBe(200);
      let call = await gw.request('POST', '/api/calls', {
        trunk_id: 'dtmf_out',
        to_number: '+15551230401',
      });
      // LiveKit SIP refuses calls while the machine's CPU is high: retried, bounded.
      for (let i = 0; i < 40 && call.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        call = await gw.request('POST', '/api/calls', {
          trunk_id: 'dtmf_out',
          to_number: '+15551230401',
        });
      }
      expect(call.status, JSON.stringify(call.body)).toBe(201);
      const id = call.body.id as string;

      const bad = await gw.request('POST', `/api/calls/${id}/dtmf`, { digits: '12x' });
      expect(bad.status).toBe(400);
      expect(bad.body.fields[0].field).toBe('digits');

      // The agent greets first; it takes commands once it is in the call.
      let last: unknown;
      const sent = await eventually(async () => {
        const res = await gw.request('POST', `/api/calls/${id}/dtmf`, { digits: '12#' });
        last = res.body;
        return res.status === 409 && res.body.error === 'no_agent' ? undefined : res;
        // Dispatch and join take seconds on a loaded shared machine.
      }, 45_000);
      expect(sent?.status, JSON.stringify(last)).toBe(200);
      expect(sent!.body.dtmf_sent).toBe(3);
      const keys = await eventually(
        async () => (ear.keysReceived.length >= 3 ? ear.keysReceived : undefined),
        10_000,
      );
      expect(keys).toEqual(['1', '2', '#']);
      const record = (await gw.request('GET', `/api/calls/${id}`)).body;
      // The record says keys were sent, not which (they may be a PIN).
      const event = record.events.find((e: { type: string }) => e.type === 'dtmf_sent');
      expect(event?.data).toMatchObject({ keys: 3 });
      expect(JSON.stringify(record.events)).not.toContain('12#');
      expect((await gw.request('POST', `/api/calls/${id}/hangup`)).status).toBe(200);
      const ended = await gw.request('POST', `/api/calls/${id}/dtmf`, { digits: '3' });
      expect(ended.status).toBe(409);
    } finally {
      uas.stop();
      ear.close();
    }
  }, 180_000);
});
