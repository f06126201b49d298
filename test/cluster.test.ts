import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/apikeys/keys.js';
import { loadConfig } from '../src/config/index.js';
import { packageRoot } from '../src/config/paths.js';
import { startApi, type RunningApi } from '../src/http/server.js';
import { startLoopbackCluster, type LoopbackCluster } from '../scripts/stack/cluster.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { startAgentProcess, type AgentProcess } from './helpers/agent-process.js';
import { createTestDatabase } from './helpers/database.js';
import { dialFromPhone, type PhoneCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// Past one machine, on loopback: two livekit-server nodes sharing Redis, a LiveKit SIP instance
// on each, two call hosts (one per node) and two API processes on one PostgreSQL. The calls are
// spread over the SIP instances by the caller; the edge's dispatcher is not built yet.

const AGENT = 'cluster-test-agent';
const NUMBER = '+15551260000';
const CALLS = 20;
const caller = (i: number) => `+1555780${String(i).padStart(4, '0')}`;

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
    apiKey: `APIcluster${randomBytes(3).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  const apiPorts = [await freeTcpPort(), await freeTcpPort()];
  cluster = await startLoopbackCluster({
    root: packageRoot(),
    dataDir: mkdtempSync(path.join(os.tmpdir(), 'vg-cluster-')),
    keys,
    // Every node tells both API processes: each event arrives twice and is stored once.
    webhookUrls: apiPorts.map((p) => `http://127.0.0.1:${p}/webhooks/livekit`),
  });
  database = await createTestDatabase();
  const encryptionKey = randomBytes(32).toString('base64');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-cluster-api-'));
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
          RECONCILE_INTERVAL_SECONDS: '0',
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

const callsStarted = (host: AgentProcess) =>
  host
    .output()
    .split('\n')
    .filter((l) => l.includes('"call started"')).length;

describe('two LiveKit nodes, two SIP instances, two call hosts, two API processes', () => {
  it('answers and greets 20 calls spread over both SIP instances, each recorded once', async () => {
    const calls: PhoneCall[] = [];
    try {
      for (let i = 0; i < CALLS; i += 1) {
        const node = cluster.nodes[i % 2]!;
        calls.push(
          await dialFromPhone(
            { host: node.sipHost, port: node.sipPort },
            NUMBER,
            caller(i),
            12_000,
          ),
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
      const greeted = await Promise.all(
        calls.map((c) => eventually(async () => c.phone.heard.firstSoundAt, 60_000)),
      );
      const unheard = greeted.flatMap((g, i) => (g ? [] : [i]));
      console.log(`cluster: calls started per host ${hosts.map(callsStarted).join(' + ')}`);
      const problems = hosts
        .flatMap((h) => h.output().split('\n'))
        .filter((l) => /"level":(40|50|60)/.test(l))
        .map((l) => l.slice(0, 300));
      expect(unheard, `calls never greeted; hosts said:\n${problems.join('\n')}`).toEqual([]);
      const ends = await Promise.all(calls.map((c) => c.call.done));
      for (const end of ends) expect(end.code, end.stderr).toBe(0);
    } finally {
      for (const c of calls) c.hangUp();
    }
    const perHost = hosts.map(callsStarted);
    console.log(`cluster: calls per host ${perHost.join(' + ')}`);
    expect(perHost.reduce((a, b) => a + b, 0)).toBe(CALLS);
    expect(Math.min(...perHost), 'both call hosts took calls').toBeGreaterThan(0);

    // Every call ended and recorded once, whichever node and API process saw its events.
    const records = await eventually(async () => {
      const list = await request('GET', '/api/calls?limit=100');
      const items = list.body.items as { from_number: string; status: string }[];
      const ended = items.filter((c) => c.status === 'ended');
      return ended.length >= CALLS ? items : undefined;
    }, 30_000);
    expect(records, 'every call record ended').toBeDefined();
    const numbers = records!.map((c) => c.from_number).sort();
    expect(numbers).toEqual(Array.from({ length: CALLS }, (_, i) => caller(i)).sort());
  }, 240_000);
});
