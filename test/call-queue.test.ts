import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import type { RtpPeer } from './helpers/rtp-peer.js';
import { dialFromPhone } from './helpers/sipp-caller.js';
import type { SippRun } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

// Concurrency limits and the queue on real phone calls: sipp dials LiveKit SIP, the agent
// worker answers, and each call's RTP peer is the caller's ear.

const stack = inject('stack');
const AGENT = 'call-queue-test';
const NUMBER = '+15551250000';
const SHORT_WAIT_NUMBER = '+15551250001';
const GREETING = 'Thank you for waiting. This is the queue test line.';
let gw: TestGateway;
let worker: TestAgentWorker;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_PORT: String(stack.webhookPort), AGENT_NAME: AGENT } });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'queue_test', [NUMBER, SHORT_WAIT_NUMBER]);
  await agentLine(gw, {
    trunkId: 'queue_test',
    name: 'queue-line',
    numbers: [NUMBER],
    settings: {
      mode: 'offline',
      greeting: GREETING,
      // No position announcements here: while waiting, the caller hears music alone.
      queue: { announce_position_seconds: 0, max_wait_seconds: 120 },
    },
  });
  await agentLine(gw, {
    trunkId: 'queue_test',
    name: 'queue-short-wait',
    numbers: [SHORT_WAIT_NUMBER],
    settings: {
      mode: 'offline',
      greeting: GREETING,
      max_concurrent_calls: 1,
      queue: {
        max_wait_seconds: 6,
        announce_position_seconds: 30,
        timeout_message: 'Everyone is still busy. Goodbye.',
      },
    },
  });
  const numbers = await gw.request('GET', '/api/numbers');
  const limited = (numbers.body.items as { id: string; number: string }[]).find(
    (n) => n.number === NUMBER,
  )!;
  const limit = await gw.request('PUT', `/api/numbers/${limited.id}`, { max_concurrent_calls: 2 });
  expect(limit.status, JSON.stringify(limit.body)).toBe(200);
  expect(limit.body.max_concurrent_calls).toBe(2);
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    timeoutMs: 120_000,
  });
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Caller {
  number: string;
  phone: RtpPeer;
  call: SippRun;
}

async function dial(number: string, caller: string): Promise<Caller> {
  const { phone, call } = await dialFromPhone(
    { host: stack.sipHost, port: stack.sipPort },
    number,
    caller,
    120_000,
  );
  return { number: caller, phone, call };
}

/** The live call record of a caller, once LiveKit's webhook has opened it and it is answered. */
async function liveCall(caller: string): Promise<{ id: string }> {
  const found = await eventually(async () => {
    const list = await gw.request('GET', '/api/calls/active');
    return (list.body.items as { id: string; from_number: string; status: string }[]).find(
      (c) => c.from_number === caller && c.status === 'active',
    );
  }, 30_000);
  expect(found, `no active call record for ${caller}`).toBeDefined();
  return found!;
}

async function queue() {
  const res = await gw.request('GET', '/api/calls/queue');
  expect(res.status).toBe(200);
  return res.body as {
    active: number;
    queued: { from_number: string; position: number; priority: number; call_id: string | null }[];
  };
}

async function soundFramesDuring(phone: RtpPeer, ms: number): Promise<number> {
  const before = phone.heard.soundFrames;
  await sleep(ms);
  return phone.heard.soundFrames - before;
}

async function hangUp(caller: string) {
  const call = await liveCall(caller);
  const res = await gw.request('POST', `/api/calls/${call.id}/hangup`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Waits until the caller is no longer in the queue: an agent took the call. */
async function admitted(caller: string, timeoutMs = 10_000) {
  return eventually(async () => {
    const q = await queue();
    return q.queued.some((c) => c.from_number === caller) ? undefined : true;
  }, timeoutMs);
}

describe('concurrency limits and the queue', () => {
  it('a third call waits with music, gets the next free place, and priority callers go first', async () => {
    const callers: Caller[] = [];
    try {
      const first = await dial(NUMBER, '+15557200001');
      const second = await dial(NUMBER, '+15557200002');
      callers.push(first, second);
      for (const c of [first, second]) {
        expect(await eventually(async () => c.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      }
      await liveCall(first.number);
      await liveCall(second.number);

      // Over the number's limit of two: answered, hears music, and waits first in line.
      const third = await dial(NUMBER, '+15557200003');
      callers.push(third);
      expect(await eventually(async () => third.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      const waiting = await eventually(async () => {
        const q = await queue();
        return q.queued.find((c) => c.from_number === third.number);
      });
      expect(waiting?.position).toBe(1);
      await sleep(500);
      const music = await soundFramesDuring(third.phone, 4000);
      console.log(`queued caller: ${music} of 200 frames with sound`);
      expect(music).toBeGreaterThan(120);

      // A place frees: the waiting call gets it and hears the greeting.
      const freedAt = Date.now();
      await hangUp(first.number);
      expect(await admitted(third.number)).toBe(true);
      console.log(`queued call admitted ${Date.now() - freedAt} ms after a place freed`);

      // Two more wait; the second of them is a priority caller and goes first.
      const priority = await gw.request('POST', '/api/queue/priority-callers', {
        number: '+15557200005',
        priority: 10,
        label: 'key account',
      });
      expect(priority.status, JSON.stringify(priority.body)).toBe(201);
      const fourth = await dial(NUMBER, '+15557200004');
      callers.push(fourth);
      await eventually(async () =>
        (await queue()).queued.some((c) => c.from_number === fourth.number) ? true : undefined,
      );
      const fifth = await dial(NUMBER, '+15557200005');
      callers.push(fifth);
      const order = await eventually(async () => {
        const q = await queue();
        return q.queued.length === 2 ? q.queued : undefined;
      }, 30_000);
      expect(order?.map((c) => [c.from_number, c.position, c.priority])).toEqual([
        [fifth.number, 1, 10],
        [fourth.number, 2, 0],
      ]);

      await hangUp(second.number);
      expect(await admitted(fifth.number)).toBe(true);
      expect((await queue()).queued.map((c) => c.from_number)).toEqual([fourth.number]);
      await hangUp(third.number);
      expect(await admitted(fourth.number)).toBe(true);
      await hangUp(fourth.number);
      await hangUp(fifth.number);
      for (const c of callers) {
        const sipp = await c.call.done;
        expect(sipp.code, sipp.stderr).toBe(0);
      }
    } finally {
      for (const c of callers) {
        c.call.stop();
        c.phone.close();
      }
    }

    // The record of the call that waited: queued, then admitted, then greeted.
    const waited = await endedCallRecord(gw, '+15557200003');
    const types = waited.events.map((e: { type: string }) => e.type);
    expect(types.indexOf('queued')).toBeGreaterThan(-1);
    expect(types.indexOf('admitted')).toBeGreaterThan(types.indexOf('queued'));
    // Nothing was said to it while it waited: the greeting came after the admission.
    expect(waited.transcript.map((t: { text: string }) => t.text)).toEqual([GREETING]);
    const admittedAt = waited.events.find((e: { type: string }) => e.type === 'admitted').at;
    expect(Date.parse(waited.transcript[0].at)).toBeGreaterThanOrEqual(Date.parse(admittedAt));
    expect((await queue()).active).toBe(0);

    const metrics = await (await fetch(`${gw.internalUrl}/metrics`)).text();
    expect(metrics).toMatch(/voice_gateway_queue_admissions_total\{after="queue"\} 3/);
  }, 240_000);

  it('after the longest wait the caller hears why and the call ends with queue_timeout', async () => {
    const talking = await dial(SHORT_WAIT_NUMBER, '+15557200011');
    const callers = [talking];
    try {
      expect(await eventually(async () => talking.phone.heard.firstSoundAt, 30_000)).toBeDefined();
      await liveCall(talking.number);
      // The profile takes one call at a time.
      const late = await dial(SHORT_WAIT_NUMBER, '+15557200012');
      callers.push(late);
      const sipp = await late.call.done;
      expect(sipp.code, sipp.stderr).toBe(0); // the far end (the agent) hung up
      await hangUp(talking.number);
      await talking.call.done;
    } finally {
      for (const c of callers) {
        c.call.stop();
        c.phone.close();
      }
    }
    const record = await endedCallRecord(gw, '+15557200012');
    expect(record.end_reason).toBe('queue_timeout');
    const said = record.transcript.map((t: { text: string }) => t.text);
    expect(said).toEqual(['Everyone is still busy. Goodbye.']);
    expect(record.duration_seconds).toBeGreaterThanOrEqual(5);
    expect(record.duration_seconds).toBeLessThan(15);
  }, 120_000);

  it('refuses bad limits and priority entries, naming the field', async () => {
    const numbers = await gw.request('GET', '/api/numbers');
    const id = (numbers.body.items as { id: string }[])[0]!.id;
    const zero = await gw.request('PUT', `/api/numbers/${id}`, { max_concurrent_calls: 0 });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body)).toContain('max_concurrent_calls');
    const both = await gw.request('POST', '/api/queue/priority-callers', {
      number: '+15557200099',
      prefix: '1555',
      priority: 1,
    });
    expect(both.status).toBe(400);
    expect(both.body.message).toContain('exactly one of number or prefix');
    const bad = await gw.request('POST', '/api/queue/priority-callers', {
      number: 'not-a-number',
      priority: 1,
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('number');
    const profile = await gw.request('POST', '/api/agents', {
      name: 'bad-queue',
      settings: { queue: { max_wait_seconds: -1 } },
    });
    expect(profile.status).toBe(400);
    expect(JSON.stringify(profile.body)).toContain('max_wait_seconds');
  });
});
