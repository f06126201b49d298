import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { edgeDestinations } from '../src/diagnostics/edge-dispatch-check.js';
import { clearLivekitSip, startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { sipRequest, statuses, udpExchange } from './helpers/sip-raw.js';
import { runSipp } from './helpers/sipp.js';
import { routedUacScenario } from './helpers/sipp-routed.js';
import { startToneParticipant, type ToneParticipant } from './helpers/tone-participant.js';
import { eventually } from './helpers/wait.js';

// The edge in front of several LiveKit SIP instances, one of them overloaded: a stand-in SIP
// instance that answers the edge's OPTIONS probes (so it stays in the set) and every INVITE
// with 503, as LiveKit SIP does when its CPU is exhausted. The edge must take the call to the
// next instance, and answer the caller 503 only when no instance is left.

const stack = inject('stack');
const DID = '+15557773001';
const ROOM = 'failover-answered';

/** A SIP endpoint on loopback that keeps its place in the dispatcher set but takes no call. */
interface BusyInstance {
  port: number;
  invites: string[];
  acks: string[];
  close(): void;
}

function reply(request: string, status: string): string {
  const keep = request
    .split('\r\n')
    .filter((line) => /^(via|from|to|call-id|cseq):/i.test(line))
    .map((line) => (/^to:/i.test(line) && !/;tag=/i.test(line) ? `${line};tag=busy1` : line));
  return [`SIP/2.0 ${status}`, ...keep, 'Retry-After: 5', 'Content-Length: 0', '', ''].join('\r\n');
}

async function startBusyInstance(): Promise<BusyInstance> {
  const socket: Socket = createSocket('udp4');
  const busy: BusyInstance = { port: 0, invites: [], acks: [], close: () => socket.close() };
  socket.on('message', (message, from) => {
    const text = message.toString('latin1');
    const method = text.split(' ', 1)[0];
    const callId = /^Call-ID:\s*(.+)$/im.exec(text)?.[1]?.trim() ?? '';
    const send = (status: string) => socket.send(reply(text, status), from.port, from.address);
    if (method === 'OPTIONS') send('200 OK');
    else if (method === 'INVITE') {
      busy.invites.push(callId);
      send('503 Service Unavailable');
    } else if (method === 'ACK') busy.acks.push(callId);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  busy.port = socket.address().port;
  return busy;
}

let edge: EdgeProcess;
let gw: TestGateway;
let busy: BusyInstance;
let listener: ToneParticipant;
const livekitUri = () => `sip:${stack.sipHost}:${stack.sipPort}`;
const busyUri = () => `sip:127.0.0.1:${busy.port}`;

async function edgeMetric(kind: string): Promise<number> {
  await gw.api.edge!.pollNow();
  const text = await (await fetch(`${gw.internalUrl}/metrics`)).text();
  const re = new RegExp(`voice_gateway_edge_events\\{kind="${kind}"\\} (\\d+)`);
  return Number(re.exec(text)?.[1] ?? 0);
}

/** Sets a dispatcher destination's state on the edge: 'a' active, 'd' disabled (no probes). */
async function setState(state: 'a' | 'd', uri: string): Promise<void> {
  await edge.rpc.call('dispatcher.set_state', [state, 1, uri]);
}

/** A whole call through the edge (sipp: INVITE, ACK and BYE on the route set); its exit code. */
async function call(i: number): Promise<number> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-failover-'));
  const run = runSipp(
    [
      `127.0.0.1:${edge.sipPort}`,
      ...['-sf', routedUacScenario(cwd), '-key', 'caller', `+1555777910${i}`, '-s', DID],
      ...['-i', '127.0.0.1', '-p', '0', '-m', '1', '-d', '300'],
      ...['-timeout', '25s', '-timeout_error', '-nostdin'],
    ],
    cwd,
  );
  return (await run.done).code ?? -1;
}

/** The final response an INVITE through the edge gets (refusals only: it is never ACKed). */
async function refusal(): Promise<{ status: number; text: string }> {
  const uri = `sip:${DID}@127.0.0.1:${edge.sipPort}`;
  const body = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    'm=audio 40000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');
  const invite = sipRequest({
    method: 'INVITE',
    uri,
    headers: [
      `To: <${uri}>`,
      'CSeq: 1 INVITE',
      'Contact: <sip:caller@{local}>',
      'Content-Type: application/sdp',
    ],
    body,
  }).replace('sip:attacker@127.0.0.2', 'sip:+15557779200@127.0.0.1');
  const answers = await udpExchange({
    localHost: '127.0.0.1',
    host: '127.0.0.1',
    port: edge.sipPort,
    message: invite,
    waitMs: 4000,
  });
  const final = answers.find((a) => /^SIP\/2\.0 [3-6]\d\d /.test(a)) ?? '';
  return { status: statuses([final])[0] ?? 0, text: final };
}

beforeAll(async () => {
  busy = await startBusyInstance();
  edge = await startEdge({
    livekitHost: stack.sipHost,
    livekitPort: stack.sipPort,
    livekitInstances: [
      { host: '127.0.0.1', port: busy.port },
      { host: stack.sipHost, port: stack.sipPort },
    ],
    probeIntervalSeconds: 1,
  });
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      EDGE_POLL_SECONDS: '120',
    },
  });
  await clearLivekitSip(gw.sip);
  const trunk = await gw.request('POST', '/api/trunks', {
    name: 'failover',
    provider: 'generic',
    trunk_id: 'failover',
    numbers: [DID],
    allowed_addresses: ['127.0.0.1'],
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: 'failover-answered',
    type: 'direct',
    room_name: ROOM,
    trunk_ids: ['failover'],
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  await gw.api.edge!.syncAdmission();
  // LiveKit SIP answers once someone in the room subscribes to the caller.
  listener = await startToneParticipant({
    wsUrl: stack.livekitWsUrl,
    apiKey: stack.apiKey,
    apiSecret: stack.apiSecret,
    room: ROOM,
    identity: 'failover-listener',
    seconds: 120,
  });
  // Both instances answer the probes before the first call.
  await eventually(async () => {
    const list = await edgeDestinations(edge.rpc);
    return list.length === 2 && list.every((d) => d.active) ? true : undefined;
  }, 15_000);
}, 90_000);

afterAll(async () => {
  await listener?.stop();
  busy?.close();
  await gw?.close();
  await edge?.stop();
});

describe('SIP edge failover over LiveKit SIP instances', () => {
  it('takes a call an overloaded instance refuses with 503 to the next one, which answers', async () => {
    const failoverBefore = await edgeMetric('livekit_failover');
    // Round-robin: of four calls, the busy instance is picked first for some.
    const exits: number[] = [];
    for (let i = 0; i < 4; i++) exits.push(await call(i));
    expect(exits, 'sipp exit codes: every call answered and hung up').toEqual([0, 0, 0, 0]);
    expect(busy.invites.length, 'the busy instance was tried').toBeGreaterThanOrEqual(1);
    // The edge ended each refused transaction properly (ACK to the 503) and took the call on.
    await eventually(
      async () => (busy.acks.length >= busy.invites.length ? true : undefined),
      5_000,
    );
    expect(new Set(busy.acks)).toEqual(new Set(busy.invites));
    expect(await edgeMetric('livekit_failover')).toBeGreaterThanOrEqual(
      failoverBefore + busy.invites.length,
    );
    // A 503 is overload, not death: the busy instance stays in the set.
    const list = await edgeDestinations(edge.rpc);
    expect(list.find((d) => d.uri === busyUri())?.active).toBe(true);
  });

  it('answers the caller 503 when the only instance left is overloaded', async () => {
    const busyBefore = await edgeMetric('livekit_busy');
    await setState('d', livekitUri());
    try {
      const tried = busy.invites.length;
      // The edge's own 503 (a proxy must not pass a 503 on, RFC 3261 16.7): the provider may
      // take the call to its next route, and retries after Retry-After.
      const { status, text } = await refusal();
      expect(status, text).toBe(503);
      expect(text).toMatch(/^Retry-After: \d+/im);
      expect(busy.invites.length).toBe(tried + 1);
      expect(await edgeMetric('livekit_busy')).toBe(busyBefore + 1);
    } finally {
      await setState('a', livekitUri());
    }
  });

  it('answers 503 with Retry-After, relaying nothing, when no instance is in the set', async () => {
    const unavailableBefore = await edgeMetric('livekit_unavailable');
    await setState('d', livekitUri());
    await setState('d', busyUri());
    try {
      const tried = busy.invites.length;
      const { status, text } = await refusal();
      expect(status, text).toBe(503);
      expect(text).toMatch(/^Retry-After: \d+/im);
      expect(busy.invites.length, 'nothing relayed to a disabled instance').toBe(tried);
      expect(await edgeMetric('livekit_unavailable')).toBe(unavailableBefore + 1);
    } finally {
      await setState('a', livekitUri());
      await setState('a', busyUri());
    }
    // Back in the set, calls are answered again.
    expect(await call(9)).toBe(0);
  });
});
