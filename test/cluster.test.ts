import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
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
import { dialFromPhone, type PhoneCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';
import { edgeEnv } from './helpers/gateway.js';

// Past one machine, on loopback: two livekit-server nodes sharing Redis, a LiveKit SIP instance
// on each, the SIP edge in front of both (Kamailio dispatcher, OPTIONS probes every 2 s), two
// call hosts (one per node) and two API processes on one PostgreSQL. Every call goes to the
// edge, which spreads them over the SIP instances.

const AGENT = 'cluster-test-agent';
const NUMBER = '+15551260000';
const CALLS = 20;
const caller = (i: number) => `+1555780${String(i).padStart(4, '0')}`;
const PROBE_SECONDS = 2;
/** tm's fr_timer in the edge (edgeDefaults.transactionTimeoutMs): a probe's answer wait. */
const PROBE_TIMEOUT_SECONDS = 5;

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
    probeIntervalSeconds: PROBE_SECONDS,
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
          // The edge's admission tables come from the gateway (pushed below).
          ...edgeEnv(cluster.edge),
          EDGE_POLL_SECONDS: '120',
          SMS_SIP_PORT: '0',
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
    // 127.0.0.2: the 20 calls' signalling, from an address that is no LiveKit SIP instance's.
    allowed_addresses: ['127.0.0.1', '127.0.0.2'],
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

const edgeAddress = (localIp?: string) => ({
  host: '127.0.0.1',
  port: cluster.edge.sipPort,
  localIp,
});
const sipLog = (i: number) =>
  readFileSync(cluster.nodes[i]!.processes.find((p) => p.name === 'livekit-sip')!.logFile, 'utf8');
/** Calls LiveKit SIP instance `i` accepted, and ACKs of 2xx it got (logged per call). */
const sipCounts = (i: number) => ({
  accepted: sipLog(i)
    .split('\n')
    .filter((l) => l.includes('Accepting the call')).length,
  acked: sipLog(i)
    .split('\n')
    .filter((l) => l.includes('ACK from remote')).length,
});

/** Dials `count` calls through the edge, one a second; every one must be greeted. */
async function callsThroughEdge(first: number, count: number, holdMs: number, localIp?: string) {
  const calls: PhoneCall[] = [];
  try {
    for (let i = first; i < first + count; i += 1) {
      calls.push(await dialFromPhone(edgeAddress(localIp), NUMBER, caller(i), holdMs));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const greeted = await Promise.all(
      calls.map((c) => eventually(async () => c.phone.heard.firstSoundAt, 60_000)),
    );
    const unheard = greeted.flatMap((g, i) => (g ? [] : [first + i]));
    const problems = hosts
      .flatMap((h) => h.output().split('\n'))
      .filter((l) => /"level":(40|50|60)/.test(l))
      .map((l) => l.slice(0, 1500));
    expect(unheard, `calls never greeted; hosts said:\n${problems.join('\n')}`).toEqual([]);
    const ends = await Promise.all(calls.map((c) => c.call.done));
    for (const end of ends) expect(end.code, end.stderr).toBe(0);
  } finally {
    for (const c of calls) c.hangUp();
  }
}

const callsStarted = (host: AgentProcess) =>
  host
    .output()
    .split('\n')
    .filter((l) => l.includes('"call started"')).length;

describe('two LiveKit nodes, two SIP instances, two call hosts, two API processes', () => {
  it('answers and greets 20 calls the edge spreads over both SIP instances, each recorded once', async () => {
    // From 127.0.0.2, no instance's address: the edge sends each ACK and BYE to the instance
    // the dialog recorded, whatever their request URI says.
    await callsThroughEdge(0, CALLS, 12_000, '127.0.0.2');
    const perSip = [sipCounts(0), sipCounts(1)];
    console.log(`cluster: calls per SIP instance ${JSON.stringify(perSip)}`);
    expect(perSip[0]!.accepted + perSip[1]!.accepted).toBe(CALLS);
    // Round-robin: each instance took half (a 503 under load moves one call to the other).
    for (const sip of perSip) {
      expect(sip.accepted, 'both SIP instances took calls').toBeGreaterThanOrEqual(CALLS / 2 - 2);
      // The caller's ACK of each 200 OK reached the instance that answered.
      expect(sip.acked).toBe(sip.accepted);
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

  it('one LiveKit SIP instance killed: new calls go to the other, none to the dead one, the diagnosis names it', async () => {
    const victim = cluster.nodes[1]!;
    const victimUri = `sip:${victim.sipHost}:${victim.sipPort}`;
    const sip = victim.processes.find((p) => p.name === 'livekit-sip')!;
    expect((await edgeDestinations(cluster.edge.rpc)).every((d) => d.active)).toBe(true);
    const before = sipCounts(0).accepted;
    const killedAt = Date.now();
    sip.child.kill('SIGKILL');
    await sip.exited;
    // Something on the dead instance's port that answers nothing and counts what the edge sends.
    const trap = dgram.createSocket('udp4');
    const seen: { method: string; callId: string; at: number }[] = [];
    trap.on('message', (m) => {
      const text = m.toString();
      const callId = /^Call-ID:\s*(.+)$/im.exec(text)?.[1]?.trim() ?? '';
      seen.push({ method: text.split(' ')[0]!, callId, at: Date.now() });
    });
    await new Promise<void>((resolve) => trap.bind(victim.sipPort, victim.sipHost, resolve));
    try {
      // Watched from the kill on, while calls are made.
      const out = eventually(async () => {
        const list = await edgeDestinations(cluster.edge.rpc).catch(() => []);
        const d = list.find((x) => x.uri === victimUri);
        return d && !d.active ? Date.now() : undefined;
      }, 30_000);
      // Calls right after the kill, before a probe noticed: one of the two is sent to the dead
      // instance, gets no answer and goes on to the other (the edge marks the dead one down).
      await callsThroughEdge(100, 2, 8000);
      const down = await out;
      expect(down, `${victimUri} still active in dispatcher.list`).toBeDefined();
      console.log(`cluster: dead SIP instance out of the edge's set after ${down! - killedAt} ms`);
      expect(down! - killedAt).toBeLessThan((PROBE_SECONDS + PROBE_TIMEOUT_SECONDS + 3) * 1000);
      const sentBefore = new Set(seen.filter((s) => s.method === 'INVITE').map((s) => s.callId));
      console.log(
        `cluster: calls the edge sent the dead instance before it was out: ${sentBefore.size}`,
      );

      // From now on every call goes to the survivor; the dead one gets probes, no INVITE.
      const outAt = Date.now();
      await callsThroughEdge(200, 4, 8000);
      expect(sipCounts(0).accepted - before).toBe(6);
      const after = seen.filter((s) => s.at >= outAt);
      expect(
        after.filter((s) => s.method === 'INVITE'),
        'INVITEs to the dead instance',
      ).toEqual([]);
      expect(after.filter((s) => s.method === 'OPTIONS').length).toBeGreaterThan(0);

      // The diagnosis names the dead instance.
      const diagnosis = await request('GET', '/api/diagnostics/sip');
      expect(diagnosis.status).toBe(200);
      const finding = (
        diagnosis.body.findings as { check: string; status: string; cause: string }[]
      ).find((f) => f.check === 'sip.edge_instances');
      expect(finding, JSON.stringify(diagnosis.body)).toBeDefined();
      expect(finding!.status).toBe('warn');
      expect(finding!.cause).toContain(victimUri);
      expect(finding!.cause).not.toContain(`${cluster.nodes[0]!.sipPort}`);
    } finally {
      trap.close();
    }
  }, 240_000);
});
