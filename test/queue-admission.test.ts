import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signAgentToken } from '../src/contract/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

// The limits hold across processes: two API instances on one PostgreSQL database take the
// agents' admission requests at the same time, through the same HTTP route the agent uses.

const stack = inject('stack');
const LIMIT = 3;
let first: TestGateway;
let second: TestGateway;
let token: string;

beforeAll(async () => {
  const env = { CALLS_MAX_ACTIVE: String(LIMIT) };
  first = await startTestGateway({ env });
  second = await startTestGateway({
    env,
    databaseUrl: first.databaseUrl,
    encryptionKey: first.encryptionKey,
  });
  token = await signAgentToken(stack.apiSecret, 300);
}, 60_000);

afterAll(async () => {
  await second?.close();
  await first?.close();
});

async function agentPost(gw: TestGateway, path: string, body: unknown) {
  const response = await fetch(`${gw.internalUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  return { status: response.status, body: (await response.json()) as any };
}

const admit = (gw: TestGateway, room: string, from = '+15557300000') =>
  agentPost(gw, '/internal/agent/calls/admit', {
    room_name: room,
    to_number: '+15551260000',
    from_number: from,
  });

describe('admission across API processes', () => {
  it('gives out exactly the places there are, queues the rest in order, and hands a freed place to the head', async () => {
    const rooms = Array.from({ length: 10 }, (_, i) => `admission-${i}`);
    const answers = await Promise.all(rooms.map((room, i) => admit(i % 2 ? second : first, room)));
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    const active = rooms.filter((_, i) => answers[i]!.body.state === 'active');
    expect(active).toHaveLength(LIMIT);

    const queue = await first.request('GET', '/api/calls/queue');
    expect(queue.body.active).toBe(LIMIT);
    expect(queue.body.limits.max_active).toBe(LIMIT);
    const waiting = queue.body.queued as { room_name: string; position: number }[];
    expect(waiting.map((w) => w.position)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(waiting.map((w) => w.room_name))).toEqual(
      new Set(rooms.filter((r) => !active.includes(r))),
    );

    // Asking again changes nothing: each request is also the call's heartbeat.
    const again = await admit(second, active[0]!);
    expect(again.body.state).toBe('active');
    const stillWaiting = await admit(first, waiting[3]!.room_name);
    expect(stillWaiting.body).toMatchObject({ state: 'queued', position: 4 });

    // An agent reports its call ended (no call record here: the place goes back anyway);
    // the next poll, on the other process, hands it to the head of the queue only.
    const ended = await agentPost(second, '/internal/agent/calls/report', {
      room_name: active[1],
      participant_identity: 'sip_caller',
      ended: { at: new Date().toISOString(), reason: 'caller_hangup' },
    });
    expect(ended.status).toBe(404);
    const head = await admit(first, waiting[0]!.room_name);
    expect(head.body.state).toBe('active');
    const next = await admit(second, waiting[1]!.room_name);
    expect(next.body).toMatchObject({ state: 'queued', position: 1 });
  });

  it('a talking call whose place was given back after a silence takes one again on its next beat, never queued', async () => {
    const before = await first.request('GET', '/api/calls/queue');
    expect(before.body.active).toBe(LIMIT);
    const client = new pg.Client({ connectionString: first.databaseUrl });
    await client.connect();
    let room: string;
    try {
      const { rows } = await client.query<{ room_name: string }>(
        `SELECT room_name FROM call_slots WHERE state = 'active' ORDER BY room_name LIMIT 1`,
      );
      room = rows[0]!.room_name;
      // Its agent stalled for two minutes: no beat since (written as the clock would have it).
      await client.query(
        `UPDATE call_slots SET heartbeat_at = now() - interval '2 minutes' WHERE room_name = $1`,
        [room],
      );
    } finally {
      await client.end();
    }
    // Any admission drops the silent place and hands it to the head of the queue.
    const head = (before.body.queued as { room_name: string }[])[0]!.room_name;
    expect((await admit(second, head)).body.state).toBe('active');

    // The stalled agent beats again: its call is talking, so it holds a place, over the limit.
    const beat = await agentPost(first, '/internal/agent/calls/admit', {
      room_name: room,
      to_number: '+15551260000',
      from_number: '+15557300000',
      in_call: true,
    });
    expect(beat.body.state).toBe('active');
    const after = await first.request('GET', '/api/calls/queue');
    expect(after.body.active).toBe(LIMIT + 1);
    expect((after.body.queued as { room_name: string }[]).map((q) => q.room_name)).not.toContain(
      room,
    );
    // Without in_call, the same request from a new call would have waited.
    const newcomer = await admit(first, 'admission-newcomer');
    expect(newcomer.body.state).toBe('queued');
  });

  it('refuses a malformed admission request, naming the field', async () => {
    const bad = await agentPost(first, '/internal/agent/calls/admit', {
      room_name: '',
      agent_profile_id: 'not-a-uuid',
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('room_name');
    expect(JSON.stringify(bad.body)).toContain('agent_profile_id');
    const unsigned = await fetch(`${first.internalUrl}/internal/agent/calls/admit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room_name: 'x' }),
    });
    expect(unsigned.status).toBe(401);
  });
});
