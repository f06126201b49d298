import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startSupervisor, type TestSupervisor } from './helpers/agent-supervisor.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sample, scrape } from './helpers/metrics.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// What an operator's Prometheus sees of a call: the hosts' running calls and turn latency
// (summed over the hosts by the supervisor), the API's open calls and how calls ended.

const stack = inject('stack');
const AGENT = 'call-metrics-test';
const NUMBER = '+15551260001';
const CALLER = '+15557260001';
const CAPACITY = 3;
const HOSTS = 2;
let gw: TestGateway;
let supervisor: TestSupervisor;
let profileId: string;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'metrics_test', [NUMBER]);
  profileId = await agentLine(gw, {
    trunkId: 'metrics_test',
    name: 'metrics-line',
    settings: {
      mode: 'offline',
      greeting: 'This is the metrics line.',
      ivr: { prompt: 'Press one.', options: { '1': { say: 'You pressed one.' } } },
    },
  });
  supervisor = await startSupervisor({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    hosts: HOSTS,
    env: { CALL_HOST_CAPACITY: String(CAPACITY) },
  });
}, 150_000);

afterAll(async () => {
  await supervisor?.stop();
  await gw?.close();
});

const running = { mode: 'offline', profile: '', direction: 'inbound' };

describe('call metrics', () => {
  it('shows a running call on the hosts and in the API, then how it ended and its turn latency', async () => {
    running.profile = profileId;
    const hosts = await scrape(supervisor.metricsUrl);
    // Summed over both hosts: what the machine takes.
    expect(sample(hosts, 'voice_gateway_host_capacity')).toBe(CAPACITY * HOSTS);
    expect(sample(hosts, 'voice_gateway_host_active_calls', running) ?? 0).toBe(0);
    const endedBefore =
      sample(await scrape(`${gw.internalUrl}/metrics`), 'voice_gateway_calls_ended_total', {
        direction: 'inbound',
        end_reason: 'caller_hangup',
        outcome: 'ended',
      }) ?? 0;

    const phone = await dialFromPhone(
      { host: stack.sipHost, port: stack.sipPort },
      NUMBER,
      CALLER,
      9000,
    );
    try {
      expect(await eventually(async () => phone.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      const during = await eventually(async () => {
        const text = await scrape(supervisor.metricsUrl);
        return sample(text, 'voice_gateway_host_active_calls', running) === 1 ? text : undefined;
      }, 5000);
      expect(during, 'the running call never showed on the hosts').toBeDefined();
      const api = await scrape(`${gw.internalUrl}/metrics`);
      expect(
        sample(api, 'voice_gateway_calls_open', {
          trunk_id: 'metrics_test',
          direction: 'inbound',
          status: 'active',
        }),
      ).toBe(1);
      phone.phone.pressKey('1');
      const end = await phone.call.done;
      expect(end.code, end.stderr).toBe(0);
    } finally {
      phone.hangUp();
    }
    const record = await endedCallRecord(gw, CALLER, 3);
    expect(record.end_reason).toBe('caller_hangup');

    const after = await eventually(async () => {
      const text = await scrape(supervisor.metricsUrl);
      return sample(text, 'voice_gateway_host_active_calls', running) === 0 ? text : undefined;
    }, 10_000);
    expect(after, 'the ended call still shows as running').toBeDefined();
    // The key press was a turn: its latency is observed when the call's report is sent.
    expect(
      sample(after!, 'voice_gateway_turn_latency_seconds_count', {
        mode: 'offline',
        part: 'total',
      }),
    ).toBeGreaterThanOrEqual(1);
    const api = await scrape(`${gw.internalUrl}/metrics`);
    expect(
      sample(api, 'voice_gateway_calls_ended_total', {
        direction: 'inbound',
        end_reason: 'caller_hangup',
        outcome: 'ended',
      }),
    ).toBe(endedBefore + 1);
    expect(sample(api, 'voice_gateway_calls_open', { trunk_id: 'metrics_test' }) ?? 0).toBe(0);
  }, 120_000);
});
