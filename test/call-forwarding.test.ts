import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { freePortBlock } from '../scripts/stack/ports.js';
import { loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { runSipp } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';
import { receivedRequest } from './sipp/uas.js';
import { sample, scrape } from './helpers/metrics.js';

// Numbers that forward their calls without an agent: always, outside opening hours, and when no
// call host takes the call. The caller is sipp (test/sipp/uac-forwarded.xml) dialling through
// the SIP edge, as a provider does; it takes the REFER LiveKit SIP sends back through the edge
// for the forward.

const stack = inject('stack');
const AGENT = 'call-forwarding-test';
const ALWAYS = '+15551250001';
const HOURS = '+15551250002';
const IDLE = '+15551250003';
const FULL = '+15551250004';
const RULED = '+15551250005';
const TARGET = '+15557654321';
const GREETING = 'Hello from the forwarding test agent.';
let edge: EdgeProcess;
let gw: TestGateway;
let worker: TestAgentWorker;
let hooks: Receiver;
let ruleId: string;

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      ...edgeEnv(edge),
    },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'fwd_main', [ALWAYS, HOURS, FULL]);
  await loopbackTrunk(gw, 'fwd_idle', [IDLE]);
  await loopbackTrunk(gw, 'fwd_rule', [RULED]);
  const profile = await gw.request('POST', '/api/agents', {
    name: 'forwarding-line',
    settings: { mode: 'offline', greeting: GREETING },
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  for (const rule of [
    { name: 'fwd-main', trunk_ids: ['fwd_main'], agent_profile_id: profile.body.id },
    // An agent name no call host serves: no agent ever joins these calls.
    { name: 'fwd-idle', trunk_ids: ['fwd_idle'], agent_name: 'forwarding-nobody' },
    // The rule forwards: its number has no forwarding of its own.
    {
      name: 'fwd-rule',
      trunk_ids: ['fwd_rule'],
      agent_profile_id: profile.body.id,
      forwarding: { mode: 'always', to: '+15557654322' },
    },
  ]) {
    const res = await gw.request('POST', '/api/dispatch-rules', { type: 'individual', ...rule });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ruleId = res.body.id as string;
  }
  hooks = await startReceiver(() => 200);
  const endpoint = await gw.request('POST', '/api/webhook-endpoints', {
    url: hooks.url,
    event_types: ['call.forwarded'],
  });
  expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
  await gw.api.edge!.syncAdmission();
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await hooks?.close();
  await gw?.close();
  await edge?.stop();
});

async function setForwarding(number: string, forwarding: unknown) {
  const res = await gw.request('PUT', `/api/numbers/${encodeURIComponent(number)}`, {
    forwarding,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/**
 * `caller` calls `number` through the edge with the forwarded caller's scenario; 503s (LiveKit
 * SIP busy on a loaded machine) are called again, bounded. Returns sipp's message log and exit
 * code.
 */
async function forwardedCall(number: string, caller: string) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-fwd-'));
    const log = path.join(dir, 'messages.log');
    const media = await freePortBlock(2);
    const run = runSipp(
      [
        `127.0.0.1:${edge.sipPort}`,
        '-sf',
        path.join(import.meta.dirname, 'sipp', 'uac-forwarded.xml'),
        '-s',
        number,
        '-key',
        'caller',
        caller,
        '-i',
        '127.0.0.1',
        '-p',
        '0',
        '-mi',
        '127.0.0.1',
        '-mp',
        String(media),
        '-m',
        '1',
        '-timeout',
        '60s',
        '-timeout_error',
        '-nostdin',
        '-trace_err',
        '-trace_msg',
        '-message_file',
        log,
      ],
      dir,
    );
    const result = await run.done;
    const messages = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (/SIP\/2\.0 503/.test(messages) && !receivedRequest(messages, 'REFER')) {
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    return { ...result, messages };
  }
  throw new Error('LiveKit SIP answered 503 to every attempt');
}

/** The ended call of `caller`, with its events. */
function recordOf(caller: string) {
  // The agent that left a forwarded call reports an empty transcript.
  return endedCallRecord(gw, caller, 0, 30_000);
}

function expectReferTo(messages: string, target: string) {
  const refer = receivedRequest(messages, 'REFER');
  expect(refer, 'the caller saw no REFER').toBeDefined();
  expect(refer).toMatch(new RegExp(`Refer-To:\\s*<?${target.replace('+', '\\+')}>?\\s*$`, 'mi'));
}

type CallEvent = { at: string; type: string; data: Record<string, unknown> };

describe('forwarding without an agent', () => {
  it('always: the caller gets a REFER to the target, the agent never greets, a webhook tells', async () => {
    const number = await setForwarding(ALWAYS, { mode: 'always', to: TARGET });
    expect(number.forwarding).toEqual({ mode: 'always', to: `tel:${TARGET}` });
    const caller = '+15557200001';
    const call = await forwardedCall(ALWAYS, caller);
    expectReferTo(call.messages, `tel:${TARGET}`);
    expect(call.code, `sipp did not finish the forwarded call: ${call.stderr}`).toBe(0);
    const record = await recordOf(caller);
    expect(record, JSON.stringify(record.events)).toMatchObject({
      status: 'ended',
      end_reason: 'forwarded',
    });
    expect(record.transcript).toEqual([]);
    const events = record.events as CallEvent[];
    expect(events.find((e) => e.type === 'forwarded')?.data).toMatchObject({
      reason: 'always',
      to: `tel:${TARGET}`,
    });
    expect(events.map((e) => e.type)).not.toContain('admitted');
    const hook = await eventually(async () => {
      const found = hooks.requests
        .map((r) => JSON.parse(r.body))
        .find((b) => b.data?.call?.id === record.id);
      return found;
    }, 15_000);
    expect(hook).toMatchObject({ type: 'call.forwarded', data: { reason: 'always' } });
    const metrics = await scrape(`${gw.internalUrl}/metrics`);
    expect(
      sample(metrics, 'voice_gateway_calls_forwarded_total', {
        reason: 'always',
        outcome: 'forwarded',
      }),
    ).toBe(1);
  }, 120_000);

  it('outside_hours: forwards while the line is closed, the agent answers while it is open', async () => {
    const zone = 'Europe/Moscow';
    const today = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short' })
      .format(new Date())
      .toLowerCase()
      .slice(0, 3);
    const week = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    const otherDays = week.filter((d) => d !== today);
    await setForwarding(HOURS, {
      mode: 'outside_hours',
      to: TARGET,
      schedule: { time_zone: zone, open: [{ days: otherDays, from: '00:00', to: '24:00' }] },
    });
    const closedCaller = '+15557200002';
    const closed = await forwardedCall(HOURS, closedCaller);
    expectReferTo(closed.messages, `tel:${TARGET}`);
    expect(closed.code, closed.stderr).toBe(0);
    const forwarded = await recordOf(closedCaller);
    expect(forwarded.end_reason, JSON.stringify(forwarded.events)).toBe('forwarded');
    expect((forwarded.events as CallEvent[]).find((e) => e.type === 'forwarded')?.data.reason).toBe(
      'outside_hours',
    );

    await setForwarding(HOURS, {
      mode: 'outside_hours',
      to: TARGET,
      schedule: { time_zone: zone, open: [{ days: [today], from: '00:00', to: '24:00' }] },
    });
    const openCaller = '+15557200003';
    const { phone, call, hangUp } = await dialFromPhone(
      { host: stack.sipHost, port: stack.sipPort },
      HOURS,
      openCaller,
      6000,
    );
    try {
      expect(await eventually(async () => phone.heard.firstSoundAt, 20_000)).toBeDefined();
      expect((await call.done).code).toBe(0);
    } finally {
      hangUp();
    }
    const answered = await endedCallRecord(gw, openCaller);
    expect(answered.end_reason).not.toBe('forwarded');
    expect(answered.transcript[0]).toMatchObject({ speaker: 'agent', text: GREETING });
  }, 180_000);

  it('no_capacity: a call no agent joins is forwarded after agent_wait_seconds', async () => {
    await setForwarding(IDLE, { mode: 'no_capacity', to: TARGET, agent_wait_seconds: 3 });
    const caller = '+15557200004';
    const call = await forwardedCall(IDLE, caller);
    expectReferTo(call.messages, `tel:${TARGET}`);
    expect(call.code, call.stderr).toBe(0);
    const record = await recordOf(caller);
    expect(record.end_reason, JSON.stringify(record.events)).toBe('forwarded');
    const events = record.events as CallEvent[];
    expect(events.map((e) => e.type)).not.toContain('agent_joined');
    const forwardedAt = Date.parse(events.find((e) => e.type === 'forwarded')!.at);
    const waited = (forwardedAt - Date.parse(record.started_at)) / 1000;
    console.info(`no_capacity: forwarded ${waited.toFixed(1)} s after the call started`);
    // Not before the wait, and within a bound that covers a busy machine.
    expect(waited).toBeGreaterThanOrEqual(2.5);
    expect(waited).toBeLessThan(20);
  }, 120_000);

  it('no_capacity: a call the limits would queue is forwarded instead of waiting', async () => {
    const res = await gw.request('PUT', `/api/numbers/${encodeURIComponent(FULL)}`, {
      max_concurrent_calls: 1,
      forwarding: { mode: 'no_capacity', to: TARGET },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const talking = await dialFromPhone(
      { host: stack.sipHost, port: stack.sipPort },
      FULL,
      '+15557200005',
      20_000,
    );
    try {
      // The first call holds the number's one place: the agent greets it.
      expect(await eventually(async () => talking.phone.heard.firstSoundAt, 20_000)).toBeDefined();
      const caller = '+15557200006';
      const call = await forwardedCall(FULL, caller);
      expectReferTo(call.messages, `tel:${TARGET}`);
      expect(call.code, call.stderr).toBe(0);
      const record = await recordOf(caller);
      expect(record.end_reason, JSON.stringify(record.events)).toBe('forwarded');
      const events = record.events as CallEvent[];
      expect(events.find((e) => e.type === 'forwarded')?.data.reason).toBe('no_capacity');
      expect(record.transcript).toEqual([]);
      expect((await talking.call.done).code).toBe(0);
    } finally {
      talking.hangUp();
    }
    const first = await endedCallRecord(gw, '+15557200005');
    expect(first.transcript[0]).toMatchObject({ speaker: 'agent', text: GREETING });
  }, 120_000);

  it("a dispatch rule's forwarding forwards calls to its numbers", async () => {
    const caller = '+15557200007';
    const call = await forwardedCall(RULED, caller);
    expectReferTo(call.messages, 'tel:+15557654322');
    expect(call.code, call.stderr).toBe(0);
    const record = await recordOf(caller);
    expect(record.end_reason, JSON.stringify(record.events)).toBe('forwarded');
    expect(record.transcript).toEqual([]);
  }, 120_000);

  it('refuses bad forwarding with a 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ mode: 'sometimes', to: TARGET }, 'forwarding.mode'],
      [{ mode: 'always', to: 'my desk' }, 'forwarding.to'],
      [{ mode: 'always', to: 'tel:12345' }, 'forwarding.to'],
      [{ mode: 'outside_hours', to: TARGET }, 'forwarding.schedule'],
      [
        { mode: 'outside_hours', to: TARGET, schedule: { time_zone: 'Mars/Olympus', open: [] } },
        'forwarding.schedule.time_zone',
      ],
      [
        {
          mode: 'outside_hours',
          to: TARGET,
          schedule: { time_zone: 'UTC', open: [{ days: ['mon'], from: '25:00', to: '26:00' }] },
        },
        'forwarding.schedule.open.0.from',
      ],
      [
        {
          mode: 'outside_hours',
          to: TARGET,
          schedule: { time_zone: 'UTC', open: [{ days: ['mon'], from: '18:00', to: '09:00' }] },
        },
        'forwarding.schedule.open.0.to',
      ],
      [
        {
          mode: 'outside_hours',
          to: TARGET,
          schedule: { time_zone: 'UTC', open: [{ days: ['someday'], from: '09:00', to: '18:00' }] },
        },
        'forwarding.schedule.open.0.days.0',
      ],
    ];
    for (const [forwarding, field] of cases) {
      const res = await gw.request('PUT', `/api/numbers/${encodeURIComponent(ALWAYS)}`, {
        forwarding,
      });
      expect(res.status, JSON.stringify(forwarding)).toBe(400);
      expect(
        (res.body.fields as { field: string }[]).map((f) => f.field),
        JSON.stringify(res.body),
      ).toContain(field);
    }
  });

  it('refuses a forwarding target the destination policy refuses, as it refuses a transfer', async () => {
    const before = (await gw.request('GET', `/api/numbers/${encodeURIComponent(IDLE)}`)).body;
    const res = await gw.request('PUT', `/api/numbers/${encodeURIComponent(IDLE)}`, {
      forwarding: { mode: 'always', to: '+19005550123' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body).toMatchObject({ error: 'destination_refused', rule: 'premium_rate' });
    const after = (await gw.request('GET', `/api/numbers/${encodeURIComponent(IDLE)}`)).body;
    expect(after.forwarding).toEqual(before.forwarding);
    const audit = await gw.request('GET', '/api/audit?action=number.forwarding_refused');
    expect(audit.body.items.length).toBeGreaterThan(0);
    const rule = await gw.request('PUT', `/api/dispatch-rules/${ruleId}`, {
      forwarding: { mode: 'always', to: '+19005550123' },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(403);
    expect(rule.body).toMatchObject({ error: 'destination_refused', rule: 'premium_rate' });
    const kept = await gw.request('GET', `/api/dispatch-rules/${ruleId}`);
    expect(kept.body.forwarding).toMatchObject({ to: 'tel:+15557654322' });
  });
});
