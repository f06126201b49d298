import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { packageRoot } from '../src/config/paths.js';
import { checkCallRoute } from '../src/diagnostics/calls-check.js';
import type { Outcome } from '../src/diagnostics/call-simulator.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

const run = promisify(execFile);
const stack = inject('stack');
let gw: TestGateway;
let rooms: RoomServiceClient;

beforeAll(async () => {
  gw = await startTestGateway();
  await clearLivekitSip(gw.sip);
  rooms = new RoomServiceClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
  const ok = (res: { status: number }) => expect(res.status).toBe(201);
  ok(
    await gw.request('POST', '/api/trunks', {
      trunk_id: 'sim_routed',
      name: 'Routed',
      provider: 'generic',
      numbers: ['+15550107001'],
      allowed_addresses: ['127.0.0.1'],
    }),
  );
  ok(
    await gw.request('POST', '/api/trunks', {
      trunk_id: 'sim_norule',
      name: 'No rule',
      provider: 'generic',
      numbers: ['+15550107002'],
      allowed_addresses: ['127.0.0.1'],
    }),
  );
  ok(
    await gw.request('POST', '/api/trunks', {
      trunk_id: 'sim_elsewhere',
      name: 'Elsewhere',
      provider: 'generic',
      numbers: ['+15550107003'],
      allowed_addresses: ['203.0.113.10'],
    }),
  );
  ok(
    await gw.request('POST', '/api/trunks', {
      trunk_id: 'sim_digest',
      name: 'Digest',
      provider: 'generic',
      numbers: ['+15550107004'],
      inbound_username: 'provider',
      inbound_password: 'provider-pass-1',
    }),
  );
  ok(
    await gw.request('POST', '/api/dispatch-rules', {
      name: 'sim-rule',
      type: 'individual',
      room_prefix: 'sim-',
      trunk_ids: ['sim_routed', 'sim_elsewhere', 'sim_digest'],
      agent_name: 'voice-agent',
    }),
  );
  // The confusion from the field: the called number put where callers go.
  ok(
    await gw.request('POST', '/api/trunks', {
      trunk_id: 'sim_confused',
      name: 'Confused',
      provider: 'generic',
      numbers: ['+15550107005'],
      allowed_addresses: ['127.0.0.1'],
    }),
  );
  ok(
    await gw.request('POST', '/api/dispatch-rules', {
      name: 'sim-confused-rule',
      type: 'individual',
      trunk_ids: ['sim_confused'],
      inbound_numbers: ['+15550107005'],
    }),
  );
});
afterAll(async () => {
  await gw?.close();
});

/** What LiveKit SIP did with sipp's call, from its own log: room created, dropped, 407... */
async function livekitDecision(pid: number): Promise<string | undefined> {
  const log = () => readFileSync(path.join(stack.logDir, 'livekit-sip.log'), 'utf8').split('\n');
  return eventually(async () => {
    const lines = log();
    const invite = lines.find((l) => l.includes(`"sipCallID": "1-${pid}@127.0.0.1"`));
    const callId = invite && /"callID": "(SCL_[^"]+)"/.exec(invite)?.[1];
    if (!callId) return undefined;
    const mine = lines.filter((l) => l.includes(callId));
    if (mine.some((l) => /Sending 407/.test(l))) return 'digest_required';
    if (mine.some((l) => /Joining room|room joined|joined room/i.test(l))) return 'accepted';
    const ended = mine.find((l) => l.includes('SIP call ended'));
    if (!ended) return undefined;
    return /"reason": "flood"/.test(ended)
      ? 'dropped'
      : `ended: ${/"reason": "([^"]*)"/.exec(ended)?.[1]}`;
  }, 15_000);
}

const cases: { name: string; called: string; expected: Outcome; because: RegExp }[] = [
  {
    name: 'a routed number',
    called: '+15550107001',
    expected: 'accepted',
    because: /room sim-_sipp_<random>/,
  },
  {
    name: 'a trunk with no rule',
    called: '+15550107002',
    expected: 'dropped',
    because: /no dispatch rule did/,
  },
  {
    name: 'a source the trunk does not allow',
    called: '+15550107003',
    expected: 'dropped',
    because: /no trunk matched/,
  },
  {
    name: 'a trunk that wants digest credentials',
    called: '+15550107004',
    expected: 'digest_required',
    because: /407/,
  },
  {
    name: 'the called number written into inbound_numbers',
    called: '+15550107005',
    expected: 'dropped',
    because: /no dispatch rule did/,
  },
];

describe('the call simulator agrees with LiveKit', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.expected}`, async () => {
      const { simulation, finding } = await checkCallRoute(gw.sip, {
        caller: 'sipp',
        called: c.called,
        sourceIp: '127.0.0.1',
        fromHost: '127.0.0.1',
      });
      expect(simulation.outcome).toBe(c.expected);
      expect(simulation.reason).toMatch(c.because);
      expect(finding.status).toBe(
        c.expected === 'accepted' ? 'pass' : c.expected === 'digest_required' ? 'warn' : 'fail',
      );

      const before = new Set((await rooms.listRooms()).map((r) => r.name));
      const call = sippCall({
        host: stack.sipHost,
        port: stack.sipPort,
        number: c.called,
        timeoutSeconds: 4,
      });
      try {
        if (c.expected === 'accepted') {
          const room = await eventually(
            async () =>
              (await rooms.listRooms()).find(
                (r) => !before.has(r.name) && r.name.startsWith('sim-_sipp_'),
              ),
            10_000,
          );
          expect(room, 'LiveKit created no room').toBeDefined();
          expect(simulation.agents).toEqual(['voice-agent']);
        } else {
          expect(await livekitDecision(call.pid)).toBe(c.expected);
        }
      } finally {
        call.stop();
        await call.done;
      }
    }, 40_000);
  }

  it('explains the caller/called confusion', async () => {
    const { simulation } = await checkCallRoute(gw.sip, {
      caller: 'sipp',
      called: '+15550107005',
      sourceIp: '127.0.0.1',
    });
    expect(simulation.passedOver.join('\n')).toMatch(
      /inbound_numbers list holds the called number/,
    );
  });

  it('answers the same through the API', async () => {
    const res = await gw.request(
      'GET',
      '/api/diagnostics/calls?caller=sipp&called=%2B15550107002&source_ip=127.0.0.1',
    );
    expect(res.status).toBe(200);
    expect(res.body.simulation.outcome).toBe('dropped');
    expect((await gw.request('GET', '/api/diagnostics/calls?caller=sipp')).status).toBe(400);
  });

  it('answers the same from `npm run diagnose -- calls`', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'diagnose', 'calls', ...args], {
        cwd: packageRoot(),
        env: {
          ...process.env,
          LIVEKIT_URL: stack.livekitUrl,
          LIVEKIT_API_KEY: stack.apiKey,
          LIVEKIT_API_SECRET: stack.apiSecret,
        },
      }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const simulated = await cli(
      '--caller',
      'sipp',
      '--called',
      '+15550107002',
      '--source-ip',
      '127.0.0.1',
      '--json',
    );
    expect((simulated as { code?: number }).code).toBe(2);
    expect(JSON.parse(simulated.stdout).simulation.outcome).toBe('dropped');

    // Without a call: every trunk's numbers are swept; the trunk no rule takes is named.
    const swept = await cli('--json');
    expect((swept as { code?: number }).code).toBe(2);
    const findings = JSON.parse(swept.stdout).findings as { check: string; status: string }[];
    expect(findings).toContainEqual(
      expect.objectContaining({ check: 'calls.trunk Routed [sim_routed]', status: 'pass' }),
    );
    expect(findings.filter((f) => f.status === 'fail').length).toBeGreaterThan(0);
    const api = await gw.request('GET', '/api/diagnostics/calls');
    expect(api.body.findings).toEqual(findings);

    const partial = await cli('--caller', 'sipp');
    expect(partial.stderr).toMatch(/needs --caller, --called and --source-ip/);
  });
});
