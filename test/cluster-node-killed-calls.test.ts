import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/apikeys/keys.js';
import { loadConfig } from '../src/config/index.js';
import { packageRoot } from '../src/config/paths.js';
import { startApi, type RunningApi } from '../src/http/server.js';
import { edgeDestinations } from '../src/diagnostics/edge-dispatch-check.js';
import { startLoopbackCluster, type LoopbackCluster } from '../scripts/stack/cluster.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { createTestDatabase } from './helpers/database.js';
import { edgeEnv } from './helpers/gateway.js';
import { dialFromPhone, type PhoneCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// One livekit-server node lost: the cluster of test/cluster.test.ts, calls up on both
// nodes, then node 1's livekit-server and the LiveKit SIP instance tied to it SIGKILLed (a
// machine gone). Nothing is left to send the lost rooms' webhooks: the calls reconcile must end
// their records with a reason, and new calls must land on the surviving node.

const AGENT = 'cluster-kill-agent';
const NUMBER = '+15551260100';
const caller = (i: number) => `+1555781${String(i).padStart(4, '0')}`;
const PROBE_SECONDS = 2;
/** The calls reconcile's period in the API processes (CALLS_RECONCILE_INTERVAL_SECONDS). */
const RECONCILE_SECONDS = 5;

let cluster: LoopbackCluster;
let database: { url: string; drop(): Promise<void> };
const apis: RunningApi[] = [];
const hosts: AgentProcess[] = [];
let adminKey = '';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
async function request(method: string, p: string, body?: unknown): Promise<any> {
  const response = await fetch(`${apis[0]!.url}${p}`, {
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

beforeAll(async () => {
  const keys = {
    apiKey: `APIclkill${randomBytes(3).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  const apiPorts = [await freeTcpPort(), await freeTcpPort()];
  cluster = await startLoopbackCluster({
    root: packageRoot(),
    dataDir: mkdtempSync(path.join(os.tmpdir(), 'vg-cluster-kill-')),
    keys,
    // Every node tells both API processes: each event arrives twice and is stored once.
    webhookUrls: apiPorts.map((p) => `http://127.0.0.1:${p}/webhooks/livekit`),
    probeIntervalSeconds: PROBE_SECONDS,
  });
  database = await createTestDatabase();
  const encryptionKey = randomBytes(32).toString('base64');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-cluster-kill-api-'));
  for (const [i, node] of cluster.nodes.entries()) {
    apis.push(
      await startApi(
        loadConfig({
          DATABASE_URL: database.url,
          GATEWAY_ENCRYPTION_KEY: encryptionKey,
          GATEWAY_DATA_DIR: path.join(dataDir, `api-${i}`),
          API_PORT: String(apiPorts[i]),
          INTERNAL_PORT: '0',
          LIVEKIT_URL: node.livekitUrl,
          LIVEKIT_API_KEY: keys.apiKey,
          LIVEKIT_API_SECRET: keys.apiSecret,
          REDIS_URL: `redis://${cluster.redisAddress}`,
          AGENT_NAME: AGENT,
          // The edge's admission tables come from the gateway (pushed below).
          ...edgeEnv(cluster.edge),
          EDGE_POLL_SECONDS: '120',
          SMS_SIP_PORT: '0',
          RECONCILE_INTERVAL_SECONDS: '0',
          CALLS_RECONCILE_INTERVAL_SECONDS: String(RECONCILE_SECONDS),
          LOG_LEVEL: 'silent',
        }),
      ),
    );
  }
  adminKey = (await createApiKey(apis[0]!.database.db, 'cluster-admin', 'admin')).key;
  const trunk = await request('POST', '/api/trunks', {
    trunk_id: 'cluster',
    name: 'Cluster',
    provider: 'generic',
    numbers: [NUMBER],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  const profile = await request('POST', '/api/agents', {
    name: 'cluster-line',
    settings: { mode: 'offline', greeting: 'This is the cluster line.' },
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  const rule = await request('POST', '/api/dispatch-rules', {
    name: 'cluster',
    type: 'individual',
    trunk_ids: ['cluster'],
    agent_profile_id: profile.body.id,
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  await apis[0]!.edge!.syncAdmission();
  // One call host per node, each reporting to the API process beside it.
  for (const [i, node] of cluster.nodes.entries()) {
    hosts.push(
      await startAgentProcess({
        livekit: { url: node.livekitUrl, apiKey: keys.apiKey, apiSecret: keys.apiSecret },
        gatewayUrl: apis[i]!.internalUrl,
        agentName: AGENT,
      }),
    );
  }
}, 240_000);

afterAll(async () => {
  for (const host of hosts) await host.stop();
  for (const api of apis) await api.close();
  await database?.drop();
  await cluster?.stop();
});

const edgeAddress = () => ({ host: '127.0.0.1', port: cluster.edge.sipPort });
const serverLog = (i: number) =>
  readFileSync(
    cluster.nodes[i]!.processes.find((p) => p.name === 'livekit-server')!.logFile,
    'utf8',
  );
/** Whether node `i` hosts the room: LiveKit starts its participants' sessions on the room's node. */
const hostsRoom = (i: number, room: string) =>
  serverLog(i)
    .split('\n')
    .some((l) => l.includes('starting RTC session') && l.includes(`"room": "${room}"`));

interface CallRecord {
  id: string;
  from_number: string;
  room_name: string | null;
  status: string;
  end_reason: string | null;
  hung_up_by: string | null;
}
async function records(): Promise<CallRecord[]> {
  const list = await request('GET', '/api/calls?limit=100');
  return list.body.items as CallRecord[];
}

/** Dials `count` calls through the edge, one a second, and waits until each is greeted. */
async function greetedCalls(first: number, count: number, holdMs: number) {
  const calls: PhoneCall[] = [];
  for (let i = first; i < first + count; i += 1) {
    calls.push(await dialFromPhone(edgeAddress(), NUMBER, caller(i), holdMs));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const greeted = await Promise.all(
    calls.map((c) => eventually(async () => c.phone.heard.firstSoundAt, 45_000)),
  );
  const unheard = greeted.flatMap((g, i) => (g ? [] : [first + i]));
  const problems = hosts
    .flatMap((h) => h.output().split('\n'))
    .filter((l) => /"level":(40|50|60)/.test(l))
    .map((l) => l.slice(0, 1500));
  expect(unheard, `calls never greeted; hosts said:\n${problems.join('\n')}`).toEqual([]);
  return calls;
}

describe('one livekit-server node killed', () => {
  it('ends the calls whose rooms were on it with a reason; new calls land on the survivor', async () => {
    const victim = cluster.nodes[1]!;
    const up = await greetedCalls(0, 4, 120_000);
    try {
      // Each call's room, and the node it lives on.
      const before = await eventually(async () => {
        const items = await records();
        const open = items.filter((c) => c.status === 'active' && c.room_name);
        return open.length === 4 ? open : undefined;
      }, 20_000);
      expect(before, JSON.stringify(await records())).toBeDefined();
      const onVictim = before!.filter((c) => hostsRoom(1, c.room_name!));
      const onSurvivor = before!.filter((c) => hostsRoom(0, c.room_name!));
      console.log(
        `cluster-node-killed: rooms on node 0 ${onSurvivor.length}, on node 1 ${onVictim.length}`,
      );
      expect(onVictim.length + onSurvivor.length).toBe(4);
      expect(onVictim.length, 'a room lives on the node to be killed').toBeGreaterThan(0);

      // The machine is lost: its livekit-server and the LiveKit SIP instance tied to it.
      const killedAt = Date.now();
      for (const name of ['livekit-server', 'livekit-sip']) {
        const proc = victim.processes.find((p) => p.name === name)!;
        proc.child.kill('SIGKILL');
        await proc.exited;
      }

      // Nothing sends the lost rooms' webhooks: their records are closed with a reason.
      const lostIds = new Set(onVictim.map((c) => c.id));
      const ended = await eventually(async () => {
        const items = (await records()).filter((c) => lostIds.has(c.id));
        return items.every((c) => c.status === 'ended') ? items : undefined;
      }, 60_000);
      const now = (await records()).filter((c) => lostIds.has(c.id));
      expect(ended, `lost calls left open: ${JSON.stringify(now)}`).toBeDefined();
      console.log(
        `cluster-node-killed: lost calls ended after ${Date.now() - killedAt} ms: ${JSON.stringify(ended!.map((c) => c.end_reason))}`,
      );
      for (const c of ended!) {
        expect(c.end_reason).toBe('livekit_node_lost');
        expect(c.hung_up_by).toBe('system');
      }
      // The calls on the surviving node are untouched.
      const kept = (await records()).filter((c) => onSurvivor.some((s) => s.id === c.id));
      for (const c of kept) expect(c.status, JSON.stringify(c)).toBe('active');

      // The edge takes the dead SIP instance out of its set; new calls go to the survivor.
      const deadUri = `sip:${victim.sipHost}:${victim.sipPort}`;
      const out = await eventually(
        async () => {
          const list = await edgeDestinations(cluster.edge.rpc).catch(() => []);
          const d = list.find((x) => x.uri === deadUri);
          return d && !d.active ? true : undefined;
        },
        (PROBE_SECONDS + 10) * 1000,
      );
      expect(out, `${deadUri} still active in the edge's set`).toBe(true);
      const fresh = await greetedCalls(100, 2, 6000);
      try {
        const ends = await Promise.all(fresh.map((c) => c.call.done));
        for (const end of ends) expect(end.code, end.stderr).toBe(0);
      } finally {
        for (const c of fresh) c.hangUp();
      }
      const freshRecords = await eventually(async () => {
        const items = (await records()).filter((c) => /\+1555781010[01]$/.test(c.from_number));
        return items.length === 2 && items.every((c) => c.status === 'ended') ? items : undefined;
      }, 30_000);
      expect(freshRecords, JSON.stringify(await records())).toBeDefined();
      for (const c of freshRecords!) expect(hostsRoom(0, c.room_name!), c.room_name!).toBe(true);
    } finally {
      for (const c of up) c.hangUp();
    }
  }, 170_000);
});
