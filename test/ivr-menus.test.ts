import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signAgentToken } from '../src/contract/index.js';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { endedCallRecord } from './helpers/call-records.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dialFromPhone, type PhoneCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// IVR menus as people build them, on phone calls: sipp dials LiveKit SIP, the phone sends RFC
// 2833 keys; nested menus, digits ended by # and of a fixed length, a webhook whose answer is
// said, the no-input timeout with its re-prompt and the menu's on_fail.

const stack = inject('stack');
const AGENT = 'ivr-menus-test';
const NUMBER = '+15551260001';
const sip = { host: stack.sipHost, port: stack.sipPort };
let gw: TestGateway;
let worker: TestAgentWorker;
let hook: {
  url: string;
  requests: { headers: IncomingHttpHeaders; body: string }[];
  server: Server;
};

async function startJsonHook() {
  const requests: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      const { digits } = JSON.parse(body) as { digits: string };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ say: `Account ${[...digits].join(' ')} has a balance of 12 dollars.` }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/ivr`, requests, server };
}

const ivr = (hookUrl: string) => ({
  prompt: 'Press 1 for accounts or 2 for support.',
  timeout_seconds: 3,
  no_input: 'I did not hear a key.',
  retries: 1,
  on_fail: { say: 'No key was pressed. Goodbye.', hangup: true },
  options: {
    '1': { say: 'Accounts.', go_to: 'accounts' },
    '2': { go_to: 'support' },
  },
  menus: {
    accounts: {
      prompt: 'Press 1 for your balance, 2 to enter your PIN, 0 for the main menu.',
      options: {
        '1': {
          collect: { prompt: 'Enter your account number, then the hash key.', end_key: '#' },
          webhook: { url: hookUrl },
          go_to: 'main',
        },
        '2': {
          collect: { prompt: 'Enter your four digit PIN.', digits: 4 },
          say: 'Your PIN {digits} was received. Goodbye.',
          hangup: true,
        },
        '0': { go_to: 'main' },
      },
    },
    support: {
      prompt: 'Support. Press 9 to hear this again.',
      options: { '9': { repeat: true } },
    },
  },
});

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
  });
  await clearLivekitSip(gw.sip);
  hook = await startJsonHook();
  await loopbackTrunk(gw, 'ivr_test', [NUMBER]);
  await agentLine(gw, {
    trunkId: 'ivr_test',
    name: 'ivr-menus',
    settings: {
      mode: 'offline',
      greeting: 'Welcome. Press 1 for accounts or 2 for support.',
      ivr: ivr(hook.url),
      silence_timeout_seconds: 60,
    },
  });
  worker = await startAgentWorker({ gatewayUrl: gw.internalUrl, agentName: AGENT });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
  hook?.server.close();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const agentLines = (record: { transcript: { speaker: string; text: string }[] }) =>
  record.transcript.map((t) => `${t.speaker}: ${t.text}`);

/** Dials, waits for the greeting, presses each group of keys, then waits (2.5 s, or as told). */
async function callAndPress(caller: string, holdMs: number, groups: (string | [string, number])[]) {
  const phone: PhoneCall = await dialFromPhone(sip, NUMBER, caller, holdMs);
  try {
    expect(await eventually(async () => phone.phone.heard.firstSoundAt, 20_000)).toBeDefined();
    await pause(1500);
    for (const group of groups) {
      const [keys, waitMs] = typeof group === 'string' ? [group, 2500] : group;
      for (const key of keys) {
        phone.phone.pressKey(key);
        await pause(250);
      }
      await pause(waitMs);
    }
    const sipp = await phone.call.done;
    expect(sipp.code, sipp.stderr).toBe(0);
  } finally {
    phone.hangUp();
  }
  return agentLines(await endedCallRecord(gw, caller));
}

describe('IVR menus on phone calls', () => {
  it('walks nested menus, collects an account number ended by #, says the webhook answer', async () => {
    const said = await callAndPress('+15557300001', 40_000, [
      '1',
      '1',
      // The answer and the main menu's prompt are said before the next key.
      ['4567#', 9000],
      '2',
      '9',
    ]);
    const agent = said.filter((l) => l.startsWith('agent:'));
    expect(agent).toEqual(
      expect.arrayContaining([
        'agent: Accounts.',
        'agent: Press 1 for your balance, 2 to enter your PIN, 0 for the main menu.',
        'agent: Enter your account number, then the hash key.',
        'agent: Account 4 5 6 7 has a balance of 12 dollars.',
        'agent: Support. Press 9 to hear this again.',
      ]),
    );
    // The webhook's answer, then back at the main menu (go_to main), whose 2 went to support.
    const answer = said.indexOf('agent: Account 4 5 6 7 has a balance of 12 dollars.');
    expect(said[answer + 1]).toBe('agent: Press 1 for accounts or 2 for support.');
    expect(said.filter((l) => l === 'agent: Support. Press 9 to hear this again.')).toHaveLength(2);
    expect(hook.requests).toHaveLength(1);
    const request = hook.requests[0]!;
    expect(JSON.parse(request.body)).toMatchObject({
      type: 'ivr.input',
      menu: 'accounts',
      key: '1',
      digits: '4567',
      call: { to_number: NUMBER, from_number: '+15557300001' },
    });
    // Signed like every webhook of ours (Standard Webhooks, the per-call secret).
    expect(request.headers['webhook-signature']).toMatch(/^v1,/);
  }, 90_000);

  it('takes a PIN of a fixed length without #, says it back and hangs up', async () => {
    const said = await callAndPress('+15557300002', 40_000, ['1', '2', '1234']);
    expect(said.slice(-2)).toEqual([
      'caller: [DTMF 4]',
      'agent: Your PIN 1 2 3 4 was received. Goodbye.',
    ]);
    const record = await endedCallRecord(gw, '+15557300002');
    expect(record.end_reason).toBe('agent_hangup');
  }, 90_000);

  it('re-prompts after the no-input timeout, then runs on_fail', async () => {
    const caller = '+15557300003';
    const startedAt = Date.now();
    const said = await callAndPress(caller, 45_000, []);
    // Greeting, a 3 s wait, the re-prompt, 3 s more, on_fail: well before the caller's 45 s.
    expect(Date.now() - startedAt).toBeLessThan(35_000);
    expect(said).toEqual([
      'agent: Welcome. Press 1 for accounts or 2 for support.',
      'agent: I did not hear a key.',
      'agent: Press 1 for accounts or 2 for support.',
      'agent: No key was pressed. Goodbye.',
    ]);
    expect((await endedCallRecord(gw, caller)).end_reason).toBe('agent_hangup');
  }, 90_000);
});

describe('menu webhooks and their URLs', () => {
  it('refuses a loopback or metadata webhook URL when private targets are not allowed', async () => {
    const strict = await startTestGateway();
    try {
      const token = await signAgentToken(stack.apiSecret, 60);
      for (const url of [hook.url, 'http://169.254.169.254/latest/meta-data/']) {
        const res = await fetch(`${strict.internalUrl}/internal/agent/calls/ivr-webhook`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            room_name: 'call-x',
            participant_identity: 'sip_x',
            url,
            timeout_seconds: 2,
            menu: 'main',
            key: '1',
            digits: '',
          }),
        });
        expect(res.status, url).toBe(403);
        expect(((await res.json()) as { error: string }).error).toBe('refused_target');
      }
      // The first test's one request is all the hook ever got.
      expect(hook.requests.length).toBeLessThanOrEqual(1);
    } finally {
      await strict.close();
    }
  });

  it('names the bad field of a menu in the profile', async () => {
    const cases: [unknown, string][] = [
      [
        { ...ivr(hook.url), options: { '1': { go_to: 'nowhere' } } },
        'settings.ivr.options.1.go_to',
      ],
      [
        { ...ivr(hook.url), options: { '1': { go_to: 'support', hangup: true } } },
        'settings.ivr.options.1.hangup',
      ],
      [
        { ...ivr('ftp://example.com/x'), options: {} },
        'settings.ivr.menus.accounts.options.1.webhook.url',
      ],
      [
        {
          ...ivr(hook.url),
          menus: {
            support: { prompt: 'x', options: { '1': { collect: { prompt: 'y', digits: 0 } } } },
          },
        },
        'settings.ivr.menus.support.options.1.collect.digits',
      ],
    ];
    for (const [settingsIvr, field] of cases) {
      const res = await gw.request('POST', '/api/agents', {
        name: `bad-${Math.random().toString(36).slice(2, 8)}`,
        settings: { mode: 'offline', ivr: settingsIvr },
      });
      expect(res.status, field).toBe(400);
      expect(
        (res.body.fields as { field: string }[]).map((f) => f.field),
        JSON.stringify(res.body),
      ).toContain(field);
    }
  });
});
