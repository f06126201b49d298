import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// A call host told to stop (SIGTERM: a deploy, a scale-down, Kubernetes' preStop) drains: it
// takes no new call, its calls go on to their end, then it exits; within a bounded time.

const stack = inject('stack');
const AGENT = 'call-host-drain-test';
const NUMBER = '+15551250000';
const sip = { host: stack.sipHost, port: stack.sipPort };
let gw: TestGateway;
const hosts: TestAgentWorker[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'drain_test', [NUMBER]);
  await agentLine(gw, {
    trunkId: 'drain_test',
    name: 'drain-line',
    settings: {
      mode: 'offline',
      greeting: 'This is the drain line.',
      ivr: {
        prompt: 'Press one.',
        invalid: 'No such key.',
        options: { '1': { say: 'You pressed one, still here.' } },
      },
    },
  });
}, 120_000);

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

afterAll(async () => {
  await gw?.close();
});

async function startHost(env: Record<string, string> = {}) {
  const host = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT, env });
  hosts.push(host);
  return host;
}

const callsStarted = (host: TestAgentWorker) =>
  host
    .logs()
    .split('\n')
    .filter((l) => l.includes('"call started"')).length;

describe('a call host told to stop', () => {
  it('keeps its call, sends the next call to another host, and exits when its call ends', async () => {
    const a = await startHost();
    const b = await startHost();
    const first = await dialFromPhone(sip, NUMBER, '+15557400001', 16_000);
    try {
      expect(await eventually(async () => first.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      const busy = callsStarted(a) === 1 ? a : b;
      const other = busy === a ? b : a;
      expect([callsStarted(busy), callsStarted(other)]).toEqual([1, 0]);

      process.kill(busy.pid, 'SIGTERM');
      const sigtermAt = Date.now();
      expect(
        await eventually(async () => busy.logs().includes('"call host draining"') || undefined),
      ).toBe(true);

      // A new call goes to the other host.
      const second = await dialFromPhone(sip, NUMBER, '+15557400002', 6000);
      try {
        expect(await eventually(async () => second.phone.heard.firstSoundAt, 30_000)).toBeDefined();
        expect(callsStarted(other)).toBe(1);
        expect(callsStarted(busy)).toBe(1);
      } finally {
        await second.call.done;
        second.hangUp();
      }

      // The draining host's call goes on: its menu still answers.
      const keyAt = Date.now();
      first.phone.pressKey('1');
      expect(
        await eventually(async () => {
          const n = first.phone.soundFramesSince(keyAt + 300);
          return n > 30 ? n : undefined;
        }, 10_000),
        'the call on the draining host went silent',
      ).toBeDefined();
      expect(busy.exited()).toBe(false);

      const end = await first.call.done;
      expect(end.code, end.stderr).toBe(0);
      const endedAt = Date.now();
      expect(await eventually(async () => busy.exited() || undefined, 20_000)).toBe(true);
      console.log(
        `drain: SIGTERM to exit ${Date.now() - sigtermAt} ms, call end to exit ${Date.now() - endedAt} ms`,
      );
      expect(busy.logs()).toContain('"call host drained; exiting"');
      expect(other.exited()).toBe(false);
    } finally {
      first.hangUp();
    }
    const record = await endedCallRecord(gw, '+15557400001', 3);
    expect(record.end_reason).toBe('caller_hangup');
    expect(record.transcript.map((t: { text: string }) => t.text)).toContain(
      'You pressed one, still here.',
    );
  }, 150_000);

  it('gives up draining after CALL_HOST_DRAIN_SECONDS and exits with the call still on', async () => {
    const host = await startHost({ CALL_HOST_DRAIN_SECONDS: '3' });
    const call = await dialFromPhone(sip, NUMBER, '+15557400003', 30_000);
    try {
      expect(await eventually(async () => call.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      const sigtermAt = Date.now();
      process.kill(host.pid, 'SIGTERM');
      expect(await eventually(async () => host.exited() || undefined, 20_000)).toBe(true);
      const took = Date.now() - sigtermAt;
      expect(took).toBeGreaterThanOrEqual(2900);
      expect(took).toBeLessThan(15_000);
      expect(host.logs()).toContain('"drain time is up; exiting with calls on"');
    } finally {
      call.hangUp();
    }
  }, 90_000);
});
