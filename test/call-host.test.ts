import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialFromPhone, type PhoneCall } from './helpers/sipp-caller.js';
import { startSupervisor } from './helpers/agent-supervisor.js';
import { eventually } from './helpers/wait.js';

// Many calls in one call host process: each keeps its own audio and events, one that fails
// ends alone, and a full host's call goes to another host.

const stack = inject('stack');
const AGENT = 'call-host-test';
// What one host holds on this 2-core machine beside LiveKit and the callers (CALL_HOST_CAPACITY's
// default). Its last calls once went unheard: LiveKit offered jobs only below its target_load of
// 0.7, which deploy/livekit.yaml now raises to 1.0 (docs/agents.md).
const LINES = 10;
const DIGITS = ['1', '2', '3', '4', '5', '6', '7', '0', '#', '*'];
const number = (i: number) => `+1555124${String(i).padStart(4, '0')}`;
const FAULT = fileURLToPath(new URL('./helpers/call-fault.ts', import.meta.url));
const sip = { host: stack.sipHost, port: stack.sipPort };
let gw: TestGateway;
const hosts: TestAgentWorker[] = [];

/** Line i: its own greeting, and an answer for every key naming the line and the key. */
function lineSettings(i: number) {
  return {
    mode: 'offline',
    greeting: `This is line ${i}.`,
    ivr: {
      prompt: `Line ${i} menu.`,
      invalid: `Line ${i} has no such key.`,
      options: Object.fromEntries(
        DIGITS.map((d) => [d, { say: `Line ${i} heard key ${d === '#' ? 'hash' : d}.` }]),
      ),
    },
  };
}

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(
    gw,
    'call_host_test',
    Array.from({ length: LINES }, (_, i) => number(i)),
  );
  for (let i = 0; i < LINES; i++) {
    const profile = await gw.request('POST', '/api/agents', {
      name: `line-${i}`,
      settings: lineSettings(i),
    });
    expect(profile.status, JSON.stringify(profile.body)).toBe(201);
    const rule = await gw.request('POST', '/api/dispatch-rules', {
      name: `line-${i}`,
      type: 'individual',
      trunk_ids: ['call_host_test'],
      numbers: [number(i)],
      agent_profile_id: profile.body.id,
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  }
}, 120_000);

// Each test's hosts go with it: a host left registered would take the next test's calls.
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

afterAll(async () => {
  await gw?.close();
});

async function startHost(env: Record<string, string> = {}, nodeArgs: string[] = []) {
  const host = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env,
    nodeArgs,
  });
  hosts.push(host);
  return host;
}

const said = (record: { transcript: { speaker: string; text: string }[] }) =>
  record.transcript.map((t) => `${t.speaker}: ${t.text}`);

const callsStarted = (host: TestAgentWorker) =>
  host
    .logs()
    .split('\n')
    .filter((l) => l.includes('"call started"')).length;

describe('the call host', () => {
  it('runs ten concurrent calls in one process, each with its own greeting and key answers', async () => {
    const host = await startHost();
    const calls: PhoneCall[] = [];
    try {
      // Arriving one a second, all on at once.
      for (let i = 0; i < LINES; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1000));
        calls.push(
          await dialFromPhone(sip, number(i), `+1555720${String(i).padStart(4, '0')}`, 40_000),
        );
      }
      const greeted = await Promise.all(
        calls.map((c) => eventually(async () => c.phone.heard.firstSoundAt, 60_000)),
      );
      const errors = host
        .logs()
        .split('\n')
        .filter((l) => l.includes('"level":50'))
        .map((l) => l.slice(0, 400));
      expect(greeted.every(Boolean), `greeted: ${greeted.join(',')}\n${errors.join('\n')}`).toBe(
        true,
      );
      // Every call in this one process.
      expect(callsStarted(host)).toBe(LINES);
      await new Promise((r) => setTimeout(r, 2500));
      calls.forEach((c, i) => c.phone.pressKey(DIGITS[i]!));
      const ends = await Promise.all(calls.map((c) => c.call.done));
      for (const end of ends) expect(end.code, end.stderr).toBe(0);
    } finally {
      for (const c of calls) c.hangUp();
    }
    for (let i = 0; i < LINES; i++) {
      const record = await endedCallRecord(gw, `+1555720${String(i).padStart(4, '0')}`, 3);
      const lines = said(record);
      const key = DIGITS[i]!;
      expect(lines[0]).toBe(`agent: This is line ${i}.`);
      // Its own key and its own answer, and nothing of the other calls.
      expect(lines).toContain(`caller: [DTMF ${key}]`);
      expect(lines).toContain(`agent: Line ${i} heard key ${key === '#' ? 'hash' : key}.`);
      expect(lines.filter((l) => l.startsWith('caller: [DTMF')).length).toBe(1);
      expect(lines.every((l) => !/line \d/i.test(l) || l.includes(`ine ${i}`))).toBe(true);
    }
  }, 180_000);

  it('a call that fails with an uncaught error ends alone; the other call goes on', async () => {
    const host = await startHost({}, ['--import', FAULT]);
    const failing = await dialFromPhone(sip, number(1), '+15557210001', 30_000);
    const other = await dialFromPhone(sip, number(2), '+15557210002', 14_000);
    try {
      for (const c of [failing, other]) {
        expect(await eventually(async () => c.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      }
      await new Promise((r) => setTimeout(r, 2000));
      // Key 9 makes the host's code for this call throw from a timer (test/helpers/call-fault.ts).
      const faultAt = Date.now();
      failing.phone.pressKey('9');
      const failed = await failing.call.done;
      expect(failed.code, failed.stderr).toBe(0);
      // The apology was heard, and the agent hung up long before the caller's 30 s.
      expect(failing.phone.soundFramesSince(faultAt + 500)).toBeGreaterThan(30);
      expect(Date.now() - faultAt).toBeLessThan(20_000);
      // The other call on the same host still answers its keys.
      const keyAt = Date.now();
      other.phone.pressKey('3');
      expect(
        await eventually(async () => {
          const n = other.phone.soundFramesSince(keyAt + 500);
          return n > 30 ? n : undefined;
        }, 10_000),
      ).toBeDefined();
      const rest = await other.call.done;
      expect(rest.code, rest.stderr).toBe(0);
    } finally {
      failing.hangUp();
      other.hangUp();
    }
    const failedRecord = await endedCallRecord(gw, '+15557210001', 2);
    expect(failedRecord.end_reason).toBe('agent_error');
    expect(said(failedRecord).at(-1)).toMatch(/^agent: Sorry, something went wrong/);
    const otherRecord = await endedCallRecord(gw, '+15557210002', 2);
    expect(otherRecord.end_reason).toBe('caller_hangup');
    expect(said(otherRecord)).toContain('agent: Line 2 heard key 3.');
    expect(host.exited()).toBe(false);
  }, 120_000);

  it('a full host is skipped: with two hosts of capacity 1, the second call goes to the other', async () => {
    const a = await startHost({ CALL_HOST_CAPACITY: '1' });
    const b = await startHost({ CALL_HOST_CAPACITY: '1' });
    const first = await dialFromPhone(sip, number(3), '+15557220001', 15_000);
    try {
      expect(await eventually(async () => first.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      // The host's load report (every 2.5 s) tells LiveKit it is full.
      await new Promise((r) => setTimeout(r, 3000));
      const second = await dialFromPhone(sip, number(4), '+15557220002', 8000);
      try {
        expect(await eventually(async () => second.phone.heard.firstSoundAt, 30_000)).toBeDefined();
        expect([callsStarted(a), callsStarted(b)].sort()).toEqual([1, 1]);
      } finally {
        await second.call.done;
        second.hangUp();
      }
    } finally {
      await first.call.done;
      first.hangUp();
    }
  }, 120_000);
});

describe('a call host that dies', () => {
  it('its call goes on on another host within seconds, from the transcript so far', async () => {
    const supervisor = await startSupervisor({
      gatewayUrl: gw.internalUrl,
      agentName: AGENT,
      hosts: 2,
    });
    const caller = '+15557230001';
    const phone = await dialFromPhone(sip, number(5), caller, 22_000);
    try {
      expect(await eventually(async () => phone.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      await new Promise((r) => setTimeout(r, 1500));
      phone.phone.pressKey('1');
      // The transcript so far reaches the API while the call goes on (once a second).
      await new Promise((r) => setTimeout(r, 3500));
      const busy = (await supervisor.hosts()).find((h) => h.activeCalls === 1);
      expect(busy?.pid, JSON.stringify(await supervisor.hosts())).toBeTruthy();
      const killedAt = Date.now();
      process.kill(busy!.pid!, 'SIGKILL');
      // "Sorry, where were we?" from the other host.
      const resumed = await eventually(async () => {
        const n = phone.phone.soundFramesSince(killedAt + 300);
        return n > 10 ? Date.now() : undefined;
      }, 15_000);
      expect(resumed, 'nothing heard after the host died').toBeDefined();
      console.log(`resumed: sound ${resumed! - killedAt} ms after the kill`);
      // The target is 3 s; the slack is for a machine loaded by other test runs.
      expect(resumed! - killedAt).toBeLessThan(4500);
      // The menu goes on: key 2 gets line 5's answer from the new host.
      await new Promise((r) => setTimeout(r, 2500));
      phone.phone.pressKey('2');
      const end = await phone.call.done;
      expect(end.code, end.stderr).toBe(0);
      const record = await endedCallRecord(gw, caller, 5);
      const lines = said(record);
      expect(lines.slice(0, 3)).toEqual([
        'agent: This is line 5.',
        'caller: [DTMF 1]',
        'agent: Line 5 heard key 1.',
      ]);
      expect(lines).toContain('agent: Sorry, where were we?');
      expect(lines.slice(lines.indexOf('agent: Sorry, where were we?'))).toEqual([
        'agent: Sorry, where were we?',
        'caller: [DTMF 2]',
        'agent: Line 5 heard key 2.',
      ]);
      expect(record.events.map((e: { type: string }) => e.type)).toContain('agent_recovery');
    } finally {
      phone.hangUp();
      await supervisor.stop();
    }
  }, 150_000);
});
