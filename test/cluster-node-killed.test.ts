import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Room } from '@livekit/rtc-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/apikeys/keys.js';
import { loadConfig } from '../src/config/index.js';
import { packageRoot } from '../src/config/paths.js';
import { startApi, type RunningApi } from '../src/http/server.js';
import { startLoopbackCluster, type LoopbackCluster } from '../scripts/stack/cluster.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { createTestDatabase } from './helpers/database.js';
import { eventually } from './helpers/wait.js';

// Two livekit-server nodes sharing Redis; web callers in rooms on both; one node killed with
// SIGKILL. LiveKit keeps the dead node's rooms in its store, participants and all, and sends no
// webhook for them: the calls reconcile must see that the node is gone, close those calls with
// a reason, and leave the calls on the live node alone. New calls then land on the live node.

const ROOMS = 8;
let cluster: LoopbackCluster;
let database: { url: string; drop(): Promise<void> };
let api: RunningApi;
let adminKey = '';
let redis: Redis;
const callers: Room[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
async function request(method: string, p: string, body?: unknown): Promise<any> {
  const response = await fetch(`${api.url}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A web caller joins `room` through the gateway's join route and node 0's address. */
async function webCaller(room: string): Promise<Room> {
  const join = await request('POST', `/api/rooms/${room}/join`, {});
  expect(join.status, JSON.stringify(join.body)).toBe(200);
  const caller = new Room();
  await caller.connect(cluster.nodes[0]!.livekitWsUrl, join.body.token as string, {
    autoSubscribe: false,
    dynacast: false,
  });
  callers.push(caller);
  return caller;
}

/** The node id a livekit-server logged at start. */
function nodeIdOf(i: number): string {
  const server = cluster.nodes[i]!.processes.find((p) => p.name === 'livekit-server')!;
  const id = /"nodeID": "(ND_[A-Za-z0-9]+)"/.exec(readFileSync(server.logFile, 'utf8'))?.[1];
  if (!id) throw new Error(`livekit-server ${i} logged no node id (${server.logFile})`);
  return id;
}

type CallRow = { id: string; room_name: string; status: string; end_reason: string | null };
async function callsIn(rooms: string[]): Promise<CallRow[]> {
  const list = await request('GET', '/api/calls?limit=100');
  return (list.body.items as CallRow[]).filter((c) => rooms.includes(c.room_name));
}

beforeAll(async () => {
  const keys = {
    apiKey: `APIkill${randomBytes(3).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  const apiPort = await freeTcpPort();
  cluster = await startLoopbackCluster({
    root: packageRoot(),
    dataDir: mkdtempSync(path.join(os.tmpdir(), 'vg-node-kill-')),
    keys,
    webhookUrls: [`http://127.0.0.1:${apiPort}/webhooks/livekit`],
  });
  database = await createTestDatabase();
  api = await startApi(
    loadConfig({
      DATABASE_URL: database.url,
      GATEWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      GATEWAY_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'vg-node-kill-api-')),
      API_PORT: String(apiPort),
      INTERNAL_PORT: '0',
      LIVEKIT_URL: cluster.nodes[0]!.livekitUrl,
      LIVEKIT_API_KEY: keys.apiKey,
      LIVEKIT_API_SECRET: keys.apiSecret,
      REDIS_URL: `redis://${cluster.redisAddress}`,
      SMS_SIP_PORT: '0',
      RECONCILE_INTERVAL_SECONDS: '0',
      // Run by the test (POST /api/calls/reconcile), so what it closes is seen at once.
      CALLS_RECONCILE_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'silent',
    }),
  );
  adminKey = (await createApiKey(api.database.db, 'node-kill-admin', 'admin')).key;
  redis = new Redis(`redis://${cluster.redisAddress}`);
}, 240_000);

afterAll(async () => {
  for (const caller of callers) await caller.disconnect().catch(() => undefined);
  redis?.disconnect();
  await api?.close();
  await database?.drop();
  await cluster?.stop();
});

describe('one livekit-server node killed', () => {
  it('closes the calls whose room was on it with livekit_node_lost, keeps the others, and takes new calls on the live node', async () => {
    const [live, doomed] = [nodeIdOf(0), nodeIdOf(1)];
    const rooms = Array.from({ length: ROOMS }, (_, i) => `node-kill-${Date.now()}-${i}`);
    for (const room of rooms) await webCaller(room);
    // LiveKit places each room on a node of its choosing (by load).
    const placed = await redis.hgetall('room_node_map');
    const onDoomed = rooms.filter((r) => placed[r] === doomed);
    const onLive = rooms.filter((r) => placed[r] === live);
    console.log(
      `rooms on the node to be killed: ${onDoomed.length}, on the other: ${onLive.length}`,
    );
    expect(onDoomed.length + onLive.length).toBe(ROOMS);
    expect(onDoomed.length, 'no room was placed on the node to be killed').toBeGreaterThan(0);
    expect(onLive.length, 'no room was placed on the node that stays').toBeGreaterThan(0);
    const recorded = await eventually(async () => {
      const calls = await callsIn(rooms);
      return calls.length === ROOMS && calls.every((c) => c.status === 'active')
        ? calls
        : undefined;
    }, 20_000);
    expect(recorded, 'every web caller has an active call record').toBeDefined();
    // Before the kill the reconcile closes nothing: every room's node answers.
    expect((await request('POST', '/api/calls/reconcile')).body).toMatchObject({
      closed: 0,
      nodeLost: 0,
    });

    const server = cluster.nodes[1]!.processes.find((p) => p.name === 'livekit-server')!;
    server.child.kill('SIGKILL');
    await server.exited;
    // LiveKit still lists the dead node's rooms with their callers, and no webhook ends them.
    const { body: report } = await request('POST', '/api/calls/reconcile');
    expect(report.nodeLost).toBe(onDoomed.length);
    const after = await callsIn(rooms);
    for (const call of after.filter((c) => onDoomed.includes(c.room_name))) {
      expect(call, call.room_name).toMatchObject({
        status: 'ended',
        end_reason: 'livekit_node_lost',
      });
    }
    for (const call of after.filter((c) => onLive.includes(c.room_name))) {
      expect(call.status, call.room_name).toBe('active');
    }
    // Closed once: the next pass finds nothing more to close.
    expect((await request('POST', '/api/calls/reconcile')).body.nodeLost).toBe(0);

    // New calls are placed on the live node (LiveKit skips the dead one once its stats are stale).
    const fresh = Array.from({ length: 3 }, (_, i) => `node-kill-after-${Date.now()}-${i}`);
    for (const room of fresh) await webCaller(room);
    const placedAfter = await redis.hgetall('room_node_map');
    expect(fresh.map((r) => placedAfter[r])).toEqual(fresh.map(() => live));
    const answered = await eventually(async () => {
      const calls = await callsIn(fresh);
      return calls.length === fresh.length && calls.every((c) => c.status === 'active')
        ? calls
        : undefined;
    }, 20_000);
    expect(answered, 'the new calls are recorded active').toBeDefined();
  }, 240_000);
});
