import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// One trunk, one dispatch rule, three numbers: two name profiles of their own, the third none.
// Each call is answered by its number's profile; the third by the rule's.

const stack = inject('stack');
const AGENT = 'number-profiles-test';
const SALES = '+15551240001';
const SUPPORT = '+15551240002';
const PLAIN = '+15551240003';
let gw: TestGateway;
let worker: TestAgentWorker;
const profiles: Record<string, string> = {};

async function profile(name: string, greeting: string): Promise<string> {
  const res = await gw.request('POST', '/api/agents', {
    name,
    settings: { mode: 'offline', greeting },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'numbers_test', [SALES, SUPPORT, PLAIN]);
  profiles.sales = await profile('sales-line', 'This is the sales line.');
  profiles.support = await profile('support-line', 'This is the support line.');
  profiles.rule = await profile('rule-line', 'This is the general line.');
  for (const [number, id] of [
    [SALES, profiles.sales],
    [SUPPORT, profiles.support],
  ] as const) {
    const res = await gw.request('PUT', `/api/numbers/${encodeURIComponent(number)}`, {
      agent_profile_id: id,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: 'all-numbers',
    type: 'individual',
    trunk_ids: ['numbers_test'],
    agent_profile_id: profiles.rule,
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

async function callAndRecord(number: string, caller: string) {
  const sip = { host: stack.sipHost, port: stack.sipPort };
  const { phone, call, hangUp } = await dialFromPhone(sip, number, caller, 6000);
  try {
    expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
    const sipp = await call.done;
    expect(sipp.code, sipp.stderr).toBe(0);
  } finally {
    hangUp();
  }
  return endedCallRecord(gw, caller);
}

describe('a number names the agent profile of its inbound calls', () => {
  it('answers each number with its own profile, and the rule profile for a number with none', async () => {
    const cases = [
      { number: SALES, caller: '+15557100001', profile: profiles.sales, line: 'sales' },
      { number: SUPPORT, caller: '+15557100002', profile: profiles.support, line: 'support' },
      { number: PLAIN, caller: '+15557100003', profile: profiles.rule, line: 'general' },
    ];
    for (const c of cases) {
      const record = await callAndRecord(c.number, c.caller);
      expect(record.to_number).toBe(c.number);
      expect(record.agent_profile_id, c.number).toBe(c.profile);
      expect(record.transcript[0]).toMatchObject({
        speaker: 'agent',
        text: `This is the ${c.line} line.`,
      });
    }
  }, 120_000);

  it('answers the next call with the number profile changed through the API', async () => {
    const res = await gw.request('PUT', `/api/numbers/${encodeURIComponent(PLAIN)}`, {
      agent_profile_id: profiles.support,
    });
    expect(res.status).toBe(200);
    const record = await callAndRecord(PLAIN, '+15557100004');
    expect(record.agent_profile_id).toBe(profiles.support);
    expect(record.transcript[0].text).toBe('This is the support line.');
  }, 60_000);
});
