import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePortBlock } from '../scripts/stack/ports.js';
import { digestAuthorization, parseChallenge, pickChallenge } from '../src/edge/digest.js';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startSmsProvider } from './helpers/sms-provider.js';
import { OpenaiStandin } from './standins/openai.js';
import { sweepRetention } from '../src/retention/sweep.js';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { startVictim, statuses, udpExchange } from './helpers/sip-raw.js';
import { runSipp } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';
import { receivedRequest, startSippUas } from './sipp/uas.js';

// SMS over SIP MESSAGE on the real edge (Kamailio) with sipp as the provider (docs/sms.md).

const stack = inject('stack');
const scenarios = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sipp');
const AGENT_DID = '+15557773001';
const QUIET_DID = '+15557773002';
const SENDER = '+15557770900';

let edge: EdgeProcess;
let gw: TestGateway;
let receiver: Receiver;
let trunkSeq = 0;

async function smsRows(number: string) {
  return gw.api.database.db
    .selectFrom('smsMessages')
    .selectAll()
    .where((eb) => eb.or([eb('fromNumber', '=', number), eb('toNumber', '=', number)]))
    .orderBy('createdAt')
    .execute();
}

/** An outbound trunk whose provider is `uas`, with one number of ours. */
async function providerTrunk(
  uas: { port: number },
  number: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  trunkSeq += 1;
  const trunkId = `sms_out_${trunkSeq}`;
  const res = await gw.request('POST', '/api/trunks', {
    name: trunkId,
    trunk_id: trunkId,
    provider: 'generic',
    numbers: [number],
    allowed_addresses: ['127.0.0.1'],
    supports_outbound: true,
    proxy_address: '127.0.0.1',
    proxy_port: uas.port,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await gw.api.edge!.pollNow();
  return trunkId;
}

async function sendSms(body: Record<string, unknown>) {
  return gw.request('POST', '/api/sms/send', body);
}

async function finalStatus(id: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const res = await gw.request('GET', `/api/sms/${id}`);
    return ['sent', 'failed'].includes(res.body.status) ? res.body : undefined;
  }, timeoutMs);
}

/** A provider's text to `did` from `from`, as raw SIP from 127.0.0.1. */
async function textIn(
  did: string,
  from: string,
  callId: string,
  text: string,
  type = 'text/plain;charset=UTF-8',
) {
  const body = Buffer.from(text);
  const head = [
    `MESSAGE sip:${did.slice(1)}@127.0.0.1:${edge.sipPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK${callId.replace(/\W/g, '')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${from.slice(1)}@127.0.0.1>;tag=t${callId.length}`,
    `To: <sip:${did.slice(1)}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 MESSAGE',
    `Content-Type: ${type}`,
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  const answers = await udpExchange({
    localHost: '127.0.0.1',
    host: '127.0.0.1',
    port: edge.sipPort,
    message: Buffer.concat([Buffer.from(head), body]),
    waitMs: 500,
  });
  return statuses(answers);
}

async function agentNumber(did: string, providerPort: number, settings: Record<string, unknown>) {
  trunkSeq += 1;
  const trunkId = `sms_agent_${trunkSeq}`;
  const trunk = await gw.request('POST', '/api/trunks', {
    name: trunkId,
    trunk_id: trunkId,
    provider: 'generic',
    numbers: [did],
    allowed_addresses: ['127.0.0.1'],
    supports_outbound: true,
    proxy_address: '127.0.0.1',
    proxy_port: providerPort,
  });
  expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  const profile = await gw.request('POST', '/api/agents', { name: `sms-${trunkId}`, settings });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  const number = await gw.request('PUT', `/api/numbers/${encodeURIComponent(did)}`, {
    agent_profile_id: profile.body.id,
  });
  expect(number.status, JSON.stringify(number.body)).toBe(200);
  await gw.api.edge!.pollNow();
}

function messagesReceived(log: string): string[] {
  return log
    .split(/-{20,}/)
    .filter((b) => b.includes('message received') && /^\s*MESSAGE /m.test(b));
}

beforeAll(async () => {
  const smsPort = await freePortBlock(1);
  edge = await startEdge({
    livekitHost: stack.sipHost,
    livekitPort: stack.sipPort,
    smsTarget: `127.0.0.1:${smsPort}`,
  });
  receiver = await startReceiver(() => 200);
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      EDGE_POLL_SECONDS: '120',
      SMS_SIP_PORT: String(smsPort),
      SMS_SEND_TIMEOUT_MS: '2000',
      SMS_RETRY_SCHEDULE: '300ms,300ms,300ms',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
  });
  const hook = await gw.request('POST', '/api/webhook-endpoints', {
    url: receiver.url,
    event_types: ['sms.received', 'sms.sent', 'sms.delivered', 'sms.failed'],
  });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await edge?.stop();
  await receiver?.close();
});

describe('inbound SMS', () => {
  it("stores a provider's MESSAGE, answers 200, and the offline agent's scripted reply reaches the provider", async () => {
    const provider = await startSippUas('uas-message-200.xml');
    const trunkId = await providerTrunk(provider, AGENT_DID);
    const profile = await gw.request('POST', '/api/agents', {
      name: 'sms-offline',
      settings: {
        mode: 'offline',
        sms: {
          scripted: [
            { keywords: ['hours', 'open'], reply: 'We are open 9 to 5, Monday to Friday.' },
          ],
          fallback: 'Thanks, we will call you back.',
        },
      },
    });
    expect(profile.status, JSON.stringify(profile.body)).toBe(201);
    const number = await gw.request('PUT', `/api/numbers/${encodeURIComponent(AGENT_DID)}`, {
      agent_profile_id: profile.body.id,
    });
    expect(number.status, JSON.stringify(number.body)).toBe(200);

    const run = runSipp(
      [
        '-sf',
        path.join(scenarios, 'uac-message.xml'),
        `127.0.0.1:${edge.sipPort}`,
        '-s',
        AGENT_DID.slice(1),
        '-i',
        '127.0.0.1',
        '-p',
        '0',
        '-m',
        '1',
        '-timeout',
        '10s',
        '-timeout_error',
        '-nostdin',
      ],
      mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-sms-')),
    );
    const sent = await run.done;
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    const [stored] = await smsRows(AGENT_DID);
    // sipp ends every body with a line break; the gateway keeps the text as sent.
    expect(stored!.body.trimEnd()).toBe('What are your opening hours?');
    expect(stored).toMatchObject({
      direction: 'inbound',
      status: 'received',
      fromNumber: SENDER,
      toNumber: AGENT_DID,
      encoding: 'gsm7',
      segments: 1,
    });

    const answered = await provider.done;
    expect(answered.code, answered.stderr).toBe(0);
    const reply = receivedRequest(provider.messages(), 'MESSAGE');
    expect(reply).toContain('We are open 9 to 5, Monday to Friday.');
    expect(reply).toMatch(new RegExp(`^To: <sip:\\+?${SENDER.slice(1)}@`, 'm'));
    expect(reply).not.toMatch(/X-Edge-Token/i);
    const rows = await eventually(async () => {
      const r = await smsRows(AGENT_DID);
      return r.length === 2 && r[1]!.status === 'sent' ? r : undefined;
    });
    expect(rows?.[1]).toMatchObject({ direction: 'outbound', inReplyToId: stored!.id });

    const history = await gw.request(
      'GET',
      `/api/sms/history?number=${encodeURIComponent(AGENT_DID)}`,
    );
    expect(history.body.items.map((m: { direction: string }) => m.direction)).toEqual([
      'outbound',
      'inbound',
    ]);
    expect(history.body.items[0].trunk_id).toBe(trunkId);
    // The customer hears of it: sms.received, then sms.sent for the reply.
    const events = await eventually(async () => {
      const types = receiver.requests.map((r) => JSON.parse(r.body).type as string);
      return types.includes('sms.received') && types.includes('sms.sent') ? types : undefined;
    });
    expect(events).toBeDefined();
    const received = receiver.requests.find((r) => JSON.parse(r.body).type === 'sms.received')!;
    expect(JSON.parse(received.body).data).toMatchObject({
      from_number: SENDER,
      to_number: AGENT_DID,
      message: expect.stringMatching(/^What are your opening hours\?\s*$/),
    });
    expect(received.headers['webhook-signature']).toBeDefined();
  }, 60_000);

  it("answers 403 to a MESSAGE from an address the number's trunk does not admit, storing nothing", async () => {
    const message = (from: string) =>
      [
        `MESSAGE sip:${QUIET_DID.slice(1)}@127.0.0.1:${edge.sipPort} SIP/2.0`,
        'Via: SIP/2.0/UDP {local};branch=z9hG4bKsmsoutsider1;rport',
        'Max-Forwards: 70',
        `From: <sip:${from}@127.0.0.2>;tag=out1`,
        `To: <sip:${QUIET_DID.slice(1)}@127.0.0.1>`,
        'Call-ID: sms-outsider-1@127.0.0.2',
        'CSeq: 1 MESSAGE',
        'Content-Type: text/plain',
        'Content-Length: 5',
        '',
        'hello',
      ].join('\r\n');
    const provider = await startSippUas('uas-message-200.xml', { timeoutSeconds: 5 });
    await providerTrunk(provider, QUIET_DID);
    provider.stop();
    const answers = await udpExchange({
      localHost: '127.0.0.2',
      host: '127.0.0.1',
      port: edge.sipPort,
      message: message('15550001111'),
    });
    expect(statuses(answers)).toEqual([403]);
    expect(await smsRows('+15550001111')).toEqual([]);
  });

  it('stores a retransmitted MESSAGE (same Call-ID and CSeq) once', async () => {
    const message = [
      `MESSAGE sip:${QUIET_DID.slice(1)}@127.0.0.1:${edge.sipPort} SIP/2.0`,
      'Via: SIP/2.0/UDP {local};branch=z9hG4bKsmsdup1;rport',
      'Max-Forwards: 70',
      'From: <sip:15550002222@127.0.0.1>;tag=dup1',
      `To: <sip:${QUIET_DID.slice(1)}@127.0.0.1>`,
      'Call-ID: sms-dup-1@127.0.0.1',
      'CSeq: 7 MESSAGE',
      'Content-Type: text/plain;charset=UTF-8',
      `Content-Length: ${Buffer.byteLength('Привет')}`,
      '',
      'Привет',
    ].join('\r\n');
    const first = await udpExchange({
      localHost: '127.0.0.1',
      host: '127.0.0.1',
      port: edge.sipPort,
      message: Buffer.from(message.replace('{local}', '127.0.0.1:5999')),
      waitMs: 1000,
    });
    // With rport the edge answers the source port whatever the Via says. Later, past the
    // edge's transaction: a new branch, the same Call-ID and CSeq.
    const again = await udpExchange({
      localHost: '127.0.0.1',
      host: '127.0.0.1',
      port: edge.sipPort,
      message: Buffer.from(
        message.replace('z9hG4bKsmsdup1', 'z9hG4bKsmsdup2').replace('{local}', '127.0.0.1:5999'),
      ),
      waitMs: 1000,
    });
    expect(statuses(first)).toContain(200);
    expect(statuses(again)).toContain(200);
    const rows = await smsRows('+15550002222');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ body: 'Привет', encoding: 'ucs2', replyState: 'off' });
  });
  it('refuses a text from a blocked sender at the edge, storing no text and no call', async () => {
    const block = await gw.request('POST', '/api/numbers/block', { number: '+15557770980' });
    expect(block.status, JSON.stringify(block.body)).toBe(201);
    expect(await textIn(QUIET_DID, '+15557770980', 'sms-blocked-1@127.0.0.1', 'spam')).toEqual([
      603,
    ]);
    expect(await smsRows('+15557770980')).toEqual([]);
    await gw.api.edge!.pollNow();
    const calls = await gw.api.database.db
      .selectFrom('calls')
      .select('id')
      .where('fromNumber', '=', '+15557770980')
      .execute();
    expect(calls).toEqual([]);
  });

  it('stores a text from a premium-rate number but sends no reply the destination policy forbids', async () => {
    expect(
      await textIn(AGENT_DID, '+19005550123', 'sms-premium-1@127.0.0.1', 'what hours?'),
    ).toEqual([200]);
    const row = await eventually(async () => {
      const [r] = await smsRows('+19005550123');
      return r && r.replyState !== 'pending' ? r : undefined;
    });
    expect(row).toMatchObject({ direction: 'inbound', replyState: 'refused' });
    expect((await smsRows('+19005550123')).map((r) => r.direction)).toEqual(['inbound']);
  });

  it('challenges a text to a trunk with inbound credentials and stores it only with the right digest', async () => {
    const did = '+15557773003';
    const res = await gw.request('POST', '/api/trunks', {
      name: 'sms_digest',
      trunk_id: 'sms_digest',
      provider: 'generic',
      numbers: [did],
      inbound_username: 'provider1',
      inbound_password: 'inbound-secret-1',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    await gw.api.edge!.pollNow();
    const uri = `sip:${did.slice(1)}@127.0.0.1:${edge.sipPort}`;
    const message = (cseq: number, authorization?: string) =>
      Buffer.from(
        [
          `MESSAGE ${uri} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.2:5999;branch=z9hG4bKsmsauth${cseq};rport`,
          'Max-Forwards: 70',
          'From: <sip:15550003333@127.0.0.2>;tag=auth1',
          `To: <sip:${did.slice(1)}@127.0.0.1>`,
          'Call-ID: sms-auth-1@127.0.0.2',
          `CSeq: ${cseq} MESSAGE`,
          ...(authorization ? [`Authorization: ${authorization}`] : []),
          'Content-Type: text/plain',
          'Content-Length: 9',
          '',
          'your code',
        ].join('\r\n'),
      );
    const exchange = (m: Buffer) =>
      udpExchange({
        localHost: '127.0.0.2',
        host: '127.0.0.1',
        port: edge.sipPort,
        message: m,
        waitMs: 800,
      });
    const first = await exchange(message(1));
    expect(statuses(first)).toEqual([401]);
    const challenge = pickChallenge(
      [parseChallenge(/^WWW-Authenticate: (.*)$/im.exec(first[0]!)![1]!)!].filter(Boolean),
    )!;
    const answer = (password: string) =>
      digestAuthorization(
        challenge,
        { username: 'provider1', password },
        { method: 'MESSAGE', uri },
      );
    expect(statuses(await exchange(message(2, answer('wrong-password'))))).toEqual([401]);
    expect(await smsRows('+15550003333')).toEqual([]);
    expect(statuses(await exchange(message(3, answer('inbound-secret-1'))))).toEqual([200]);
    const rows = await smsRows('+15550003333');
    expect(rows.map((r) => r.body)).toEqual(['your code']);
  });
});

describe('agent replies', () => {
  it("answers through a pipeline profile's LLM, giving it the conversation so far", async () => {
    const llm = await OpenaiStandin.start({ chatReply: 'We are open until nine tonight.' });
    const provider = await startSmsProvider();
    const did = '+15557773020';
    const them = '+15557770960';
    const keyless = { base_url: llm.url, api_key_env: null };
    try {
      await agentNumber(did, provider.port, {
        mode: 'pipeline',
        system_prompt: 'You answer for a bakery.',
        stt: { provider: 'openai', ...keyless },
        llm: { provider: 'openai', model: 'stand-in', ...keyless },
        tts: { provider: 'openai', ...keyless },
      });
      expect(await textIn(did, them, 'sms-llm-1@127.0.0.1', 'Hello there')).toEqual([200]);
      const first = await eventually(async () =>
        provider.received.length === 1 ? true : undefined,
      );
      expect(first, 'the first reply never reached the provider').toBe(true);
      expect(await textIn(did, them, 'sms-llm-2@127.0.0.1', 'Are you open tonight?')).toEqual([
        200,
      ]);
      const second = await eventually(async () =>
        provider.received.length === 2 ? true : undefined,
      );
      expect(second, 'the second reply never reached the provider').toBe(true);
      expect(provider.received.map((m) => m.body)).toEqual([
        'We are open until nine tonight.',
        'We are open until nine tonight.',
      ]);
      expect(llm.chatRequests).toHaveLength(2);
      const messages = llm.chatRequests[1]!.body.messages.map((m) => [m.role, m.content]);
      expect(messages[0]![0]).toBe('system');
      expect(String(messages[0]![1])).toContain('You answer for a bakery.');
      expect(messages.slice(1)).toEqual([
        ['user', 'Hello there'],
        ['assistant', 'We are open until nine tonight.'],
        ['user', 'Are you open tonight?'],
      ]);
    } finally {
      provider.close();
      await llm.close();
    }
  }, 30_000);

  it("answers through a bridge profile's platform endpoint, and not at all with replies off", async () => {
    const posted: { type: string; message: string }[] = [];
    const platform = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ reply: 'The platform says hi.' }));
      });
    });
    await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
    const address = platform.address();
    const platformUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/sms`;
    const provider = await startSmsProvider();
    try {
      await agentNumber('+15557773021', provider.port, {
        mode: 'bridge',
        bridge: { url: 'ws://127.0.0.1:9/bridge' },
        sms: { webhook_url: platformUrl },
      });
      await agentNumber('+15557773022', provider.port, {
        mode: 'offline',
        sms: { replies: false, fallback: 'never sent' },
      });
      expect(await textIn('+15557773022', '+15557770962', 'sms-off-1@127.0.0.1', 'hi')).toEqual([
        200,
      ]);
      expect(
        await textIn('+15557773021', '+15557770961', 'sms-bridge-1@127.0.0.1', 'hi platform'),
      ).toEqual([200]);
      const replied = await eventually(async () =>
        provider.received.length >= 1 ? true : undefined,
      );
      expect(replied).toBe(true);
      expect(posted).toMatchObject([{ type: 'sms', message: 'hi platform' }]);
      // Give the replies-off text time to be (not) answered.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(provider.received.map((m) => m.body)).toEqual(['The platform says hi.']);
      const [off] = await smsRows('+15557770962');
      expect(off).toMatchObject({ replyState: 'off' });
    } finally {
      provider.close();
      platform.close();
    }
  }, 30_000);
});

describe('the edge relay', () => {
  it('relays a MESSAGE from the gateway only with the secret and only to an outbound trunk provider', async () => {
    const victim = await startVictim('127.0.0.20');
    try {
      const relayPort = Number(new URL(edge.rpcUrl).port);
      const request = (target: string, token?: string) =>
        Buffer.from(
          [
            `MESSAGE sip:15550001@${target} SIP/2.0`,
            'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKrelay' +
              (token ? 't' : 'n') +
              target.length +
              ';rport',
            'Max-Forwards: 70',
            'From: <sip:+15557773013@127.0.0.1>;tag=r1',
            `To: <sip:15550001@${target}>`,
            `Call-ID: relay-${target}-${token ? 't' : 'n'}@test`,
            'CSeq: 1 MESSAGE',
            ...(token ? [`X-Edge-Token: ${token}`] : []),
            'Content-Length: 4',
            '',
            'ping',
          ].join('\r\n'),
        );
      const at = (m: Buffer) =>
        udpExchange({
          localHost: '127.0.0.1',
          host: '127.0.0.1',
          port: relayPort,
          message: m,
          waitMs: 800,
        });
      expect(
        statuses(await at(request(`${victim.host}:${victim.port}`, edge.settings.rpcSecret))),
      ).toEqual([403]);
      expect(statuses(await at(request(`${victim.host}:${victim.port}`)))).toEqual([403]);
      expect(
        statuses(await at(request(`${victim.host}:${victim.port}`, 'wrong-secret-wrong-secret'))),
      ).toEqual([403]);
      expect(victim.received).toEqual([]);
    } finally {
      victim.close();
    }
  });
});

describe('outbound SMS', () => {
  it('answers a 401 challenge with the trunk credentials and the provider takes the MESSAGE', async () => {
    const provider = await startSippUas('uas-message-401.xml');
    const trunkId = await providerTrunk(provider, '+15557773010', {
      username: 'smsuser',
      password: 'sms-secret-1',
    });
    const res = await sendSms({
      from_number: '+15557773010',
      to_number: '+15557770950',
      message: 'Your code is 1234',
      trunk_id: trunkId,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', segments: 1, encoding: 'gsm7' });
    const final = await finalStatus(res.body.id);
    expect(final).toMatchObject({ status: 'sent', sip_status: 200 });
    const answered = await provider.done;
    expect(answered.code, answered.stderr).toBe(0);
    const all = messagesReceived(provider.messages());
    expect(all).toHaveLength(2);
    expect(all[1]).toMatch(/^Authorization: Digest /m);
    expect(all[1]).toContain('Your code is 1234');
  }, 30_000);

  it('retries a MESSAGE answered 503 twice; the third try is taken and the text is delivered once', async () => {
    const provider = await startSippUas('uas-message-503-twice.xml');
    await providerTrunk(provider, '+15557773011');
    const res = await sendSms({
      from_number: '+15557773011',
      to_number: '+15557770951',
      message: 'Delivery at 10',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const final = await finalStatus(res.body.id);
    expect(final).toMatchObject({ status: 'sent', attempts: 3, sip_status: 200 });
    const answered = await provider.done;
    expect(answered.code, answered.stderr).toBe(0);
    const tries = messagesReceived(provider.messages());
    expect(tries).toHaveLength(3);
    const callIds = new Set(tries.map((t) => /^Call-ID: (.*)$/m.exec(t)?.[1]?.trim()));
    expect(callIds.size).toBe(1);
  }, 30_000);

  it('gives up on a 404 at once, recording the status and reason, and tells the webhook', async () => {
    const provider = await startSippUas('uas-message-404.xml');
    await providerTrunk(provider, '+15557773012');
    const res = await sendSms({
      from_number: '+15557773012',
      to_number: '+15557770952',
      message: 'Nobody home',
    });
    expect(res.status).toBe(202);
    const final = await finalStatus(res.body.id);
    expect(final).toMatchObject({
      status: 'failed',
      attempts: 1,
      sip_status: 404,
      sip_reason: 'Not Found',
    });
    const failed = await eventually(async () =>
      receiver.requests.find((r) => {
        const e = JSON.parse(r.body);
        return e.type === 'sms.failed' && e.data.id === res.body.id ? r : undefined;
      }),
    );
    expect(failed).toBeDefined();
  }, 30_000);

  it('sends a long text as one MESSAGE by default, or split in order when the trunk says so', async () => {
    const provider = await startSmsProvider();
    const text = 'Ж'.repeat(100) + 'конец';
    try {
      const plain = await gw.request('POST', '/api/trunks', {
        name: 'sms_long',
        trunk_id: 'sms_long',
        provider: 'generic',
        numbers: ['+15557773030'],
        supports_outbound: true,
        proxy_address: '127.0.0.1',
        proxy_port: provider.port,
        allowed_addresses: ['127.0.0.1'],
      });
      expect(plain.status, JSON.stringify(plain.body)).toBe(201);
      expect(plain.body).toMatchObject({ sms_split: false, sms_max_segments: 10 });
      const split = await gw.request('POST', '/api/trunks', {
        name: 'sms_split',
        trunk_id: 'sms_split',
        provider: 'generic',
        numbers: ['+15557773031'],
        supports_outbound: true,
        proxy_address: '127.0.0.1',
        proxy_port: provider.port,
        allowed_addresses: ['127.0.0.1'],
        sms_split: true,
      });
      expect(split.status, JSON.stringify(split.body)).toBe(201);
      await gw.api.edge!.pollNow();
      const one = await sendSms({
        from_number: '+15557773030',
        to_number: '+15557770970',
        message: text,
      });
      expect(one.body).toMatchObject({ encoding: 'ucs2', segments: 2 });
      expect(await finalStatus(one.body.id)).toMatchObject({ status: 'sent' });
      expect(provider.received.map((m) => m.body)).toEqual([text]);
      const parts = await sendSms({
        from_number: '+15557773031',
        to_number: '+15557770971',
        message: text,
      });
      expect(await finalStatus(parts.body.id)).toMatchObject({ status: 'sent', segments: 2 });
      const pieces = provider.received.slice(1);
      expect(pieces.map((m) => m.body)).toEqual(['Ж'.repeat(67), 'Ж'.repeat(33) + 'конец']);
      expect(pieces.map((m) => m.callId.split('@')[0])).toEqual([
        `${parts.body.id}.1`,
        `${parts.body.id}.2`,
      ]);
    } finally {
      provider.close();
    }
  }, 30_000);

  it("asks for an IMDN delivery report and marks the text delivered when the trunk's provider sends one", async () => {
    const provider = await startSmsProvider();
    try {
      await providerTrunk(provider, '+15557773040');
      const res = await sendSms({
        from_number: '+15557773040',
        to_number: '+15557770990',
        message: 'Parcel on its way',
      });
      expect(await finalStatus(res.body.id)).toMatchObject({ status: 'sent' });
      expect(provider.received[0]!.head).toMatch(
        new RegExp(`^imdn.Message-ID: ${res.body.id}$`, 'm'),
      );
      expect(provider.received[0]!.head).toMatch(
        /^imdn.Disposition-Notification: positive-delivery/m,
      );
      const report = (id: string) =>
        `<?xml version="1.0" encoding="UTF-8"?><imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>${id}</message-id><datetime>2026-12-02T02:00:00Z</datetime><delivery-notification><status><delivered/></status></delivery-notification></imdn>`;
      // To another trunk's number: names our text but cannot touch it.
      expect(
        await textIn(
          QUIET_DID,
          '+15557770990',
          'sms-imdn-0@127.0.0.1',
          report(res.body.id),
          'message/imdn+xml',
        ),
      ).toEqual([200]);
      expect((await gw.request('GET', `/api/sms/${res.body.id}`)).body.status).toBe('sent');
      expect(
        await textIn(
          '+15557773040',
          '+15557770990',
          'sms-imdn-1@127.0.0.1',
          report(res.body.id),
          'message/imdn+xml',
        ),
      ).toEqual([200]);
      const delivered = (await gw.request('GET', `/api/sms/${res.body.id}`)).body;
      expect(delivered).toMatchObject({ status: 'delivered' });
      expect(delivered.delivered_at).not.toBeNull();
      const hook = await eventually(async () =>
        receiver.requests.find((r) => {
          const e = JSON.parse(r.body);
          return e.type === 'sms.delivered' && e.data.id === res.body.id ? r : undefined;
        }),
      );
      expect(hook).toBeDefined();
      // A report is no text: nothing was stored as received.
      expect((await smsRows('+15557770990')).map((r) => r.direction)).toEqual(['outbound']);
    } finally {
      provider.close();
    }
  }, 30_000);

  it('refuses bad input with a 400 naming the field, queueing nothing', async () => {
    const provider = await startSippUas('uas-message-200.xml', { timeoutSeconds: 5 });
    const trunkId = await providerTrunk(provider, '+15557773013');
    provider.stop();
    const base = { from_number: '+15557773013', to_number: '+15557770953', message: 'hi' };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, message: '   ' }, 'message'],
      [{ ...base, message: 'x'.repeat(10_000) }, 'message'],
      [{ ...base, to_number: '12ab' }, 'to_number'],
      [{ ...base, from_number: '+1555' }, 'from_number'],
      [{ ...base, trunk_id: 'no_such_trunk' }, 'trunk_id'],
      [{ ...base, webhook_url: 'ftp://x' }, 'webhook_url'],
    ];
    for (const [body, fieldName] of cases) {
      const res = await sendSms(body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.fields.map((f: { field: string }) => f.field)).toContain(fieldName);
    }
    const long = await sendSms({ ...base, message: 'x'.repeat(10_000) });
    expect(long.body.message).toMatch(/66 GSM-7 segments.*at most 10/);
    expect(trunkId).toBeDefined();
    expect(await smsRows('+15557770953')).toEqual([]);
    const viewer = await gw.keyFor('viewer');
    expect((await gw.request('POST', '/api/sms/send', base, viewer)).status).toBe(403);
    // Toll fraud and the blocklist: refused before anything is queued.
    const premium = await sendSms({ ...base, to_number: '+19005550123' });
    expect(premium.status).toBe(403);
    expect(premium.body).toMatchObject({ error: 'destination_refused', rule: 'premium_rate' });
    const block = await gw.request('POST', '/api/numbers/block', { prefix: '1555777095' });
    expect(block.status, JSON.stringify(block.body)).toBe(201);
    const refused = await sendSms(base);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'blocked_number' });
    expect((await smsRows('+19005550123')).filter((r) => r.direction === 'outbound')).toEqual([]);
  });
});

describe('retention', () => {
  it('deletes texts past SMS_RETENTION_DAYS, never one still queued', async () => {
    const db = gw.api.database.db;
    const old = new Date(Date.now() - 200 * 86_400_000);
    const row = (status: string) => ({
      id: randomUUID(),
      direction: 'outbound',
      status,
      fromNumber: '+15557773099',
      toNumber: '+15557770999',
      body: `old ${status}`,
      encoding: 'gsm7',
      segments: 1,
      createdAt: old,
      nextAttemptAt: status === 'queued' ? new Date(Date.now() + 3_600_000) : null,
    });
    await db
      .insertInto('smsMessages')
      .values([row('sent'), row('queued'), row('failed')])
      .execute();
    const result = await sweepRetention({
      db,
      logger: gw.api.logger,
      settings: { transcriptDays: 0, webhookDeliveryDays: 0, livekitEventDays: 0, smsDays: 90 },
    });
    expect(result.smsMessages).toBeGreaterThanOrEqual(2);
    expect((await smsRows('+15557773099')).map((r) => r.status)).toEqual(['queued']);
  });
});
