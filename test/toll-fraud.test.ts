import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signAgentToken } from '../src/contract/index.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { receivedRequest, startSippUas, type SippUas } from './sipp/uas.js';

// Toll fraud on the real stack: a stolen operator key (or a prompt-injected agent) dialling
// premium, satellite or foreign numbers, bursting past a trunk's call cap or its call rate.

const stack = inject('stack');
const FROM = '+15550100300';
const TO = '+15551230003';
let gw: TestGateway;
let second: TestGateway | undefined;

beforeAll(async () => {
  // On the port LiveKit posts its webhooks to; the agents' capacity is one call at a time.
  gw = await startTestGateway({
    env: { API_PORT: String(stack.webhookPort), CALLS_MAX_ACTIVE: '1' },
  });
  await clearLivekitSip(gw.sip);
  for (const [trunk_id, number] of [
    ['fraud_out', FROM],
    ['spare_out', '+15550100301'],
  ] as const) {
    const trunk = await gw.request('POST', '/api/trunks', {
      trunk_id,
      name: trunk_id,
      provider: 'generic',
      supports_inbound: false,
      proxy_address: '127.0.0.1:5060',
      numbers: [number],
    });
    expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
  }
});
afterAll(async () => {
  await second?.close();
  await gw?.close();
});

async function pointTrunkAt(uas: SippUas, trunk = 'fraud_out', extra: object = {}) {
  const res = await gw.request('PUT', `/api/trunks/${trunk}`, {
    proxy_address: `127.0.0.1:${uas.port}`,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Call records to these numbers (LiveKit's webhooks of earlier test files' calls add others). */
const callCount = async (numbers: string[]) =>
  Number(
    (
      await gw.api.database.db
        .selectFrom('calls')
        .where('toNumber', 'in', numbers)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const cpuExhausted = (res: { status: number; body: { message?: string } }) =>
  res.status === 503 && String(res.body?.message).includes('cpu exhausted');

/** POST /api/calls, retried (bounded) while LiveKit SIP refuses for the shared machine's CPU. */
async function dial(body: Record<string, unknown>, on: TestGateway = gw) {
  for (let attempt = 0; ; attempt += 1) {
    const res = await on.request('POST', '/api/calls', body);
    if (!cpuExhausted(res) || attempt >= 90) return res;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

describe('destination policy', { timeout: 300_000 }, () => {
  it('refuses premium-rate, satellite and international-network numbers by default, naming the rule, and dials nothing', async () => {
    const cases: Array<[string, string]> = [
      ['+19005550123', 'premium_rate'], // US 900
      ['+448712345678', 'premium_rate'], // UK 0871, libphonenumber's type
      ['+4990012345678', 'premium_rate'], // German 0900, from the prefix list
      ['+881631234567', 'international_network'], // satellite (GMSS)
      ['+870773123456', 'international_network'], // Inmarsat
      ['+882345678901', 'international_network'],
      ['+447012345678', 'personal_number'],
      ['+80812345678', 'shared_cost'],
    ];
    const numbers = cases.map(([number]) => number);
    const before = await callCount(numbers);
    for (const [number, rule] of cases) {
      const res = await gw.request('POST', '/api/calls', {
        trunk_id: 'fraud_out',
        to_number: number,
      });
      expect(res.status, `${number}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body).toMatchObject({
        error: 'destination_refused',
        rule,
        field: 'to_number',
        trunk_id: 'fraud_out',
      });
    }
    expect(await callCount(numbers)).toBe(before);
    const audit = await gw.request('GET', '/api/audit?entity_type=trunk&entity_id=fraud_out');
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain(
      'call.create_refused',
    );
  });

  it("a trunk's own policy: an allow-list of prefixes refuses other countries; an allowed class lets premium through", async () => {
    const bad = await gw.request('PUT', '/api/trunks/fraud_out', {
      destination_policy: { allowed_prefixes: ['49'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { field: string }) => f.field)).toContain(
      'destination_policy.allowed_prefixes.0',
    );
    const set = await gw.request('PUT', '/api/trunks/fraud_out', {
      destination_policy: { allowed_prefixes: ['+1555', '+1900'], allow_classes: ['premium_rate'] },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.destination_policy).toEqual({
      allowed_prefixes: ['+1555', '+1900'],
      allow_classes: ['premium_rate'],
    });

    const foreign = await gw.request('POST', '/api/calls', {
      trunk_id: 'fraud_out',
      to_number: '+4930123456',
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ rule: 'country_not_allowed', field: 'to_number' });
    // The other trunk keeps the global default: premium refused there.
    const spare = await gw.request('POST', '/api/calls', {
      trunk_id: 'spare_out',
      to_number: '+19005550123',
    });
    expect(spare.body.rule).toBe('premium_rate');

    // Allowed by the trunk's policy: the call is dialled (the far end says busy).
    const uas = await startSippUas('uas-busy-486.xml', { timeoutSeconds: 240 });
    try {
      await pointTrunkAt(uas);
      const premium = await dial({ trunk_id: 'fraud_out', to_number: '+19005550123' });
      expect(premium.status, JSON.stringify(premium.body)).toBe(409);
      expect(premium.body.error).toBe('sip_busy');
      expect(receivedRequest(uas.messages(), 'INVITE')).toMatch(/INVITE sip:\+19005550123@/);
    } finally {
      uas.stop();
    }
    const cleared = await gw.request('PUT', '/api/trunks/fraud_out', { destination_policy: null });
    expect(cleared.body.destination_policy).toBeNull();
  });

  it('refuses transfers to costly numbers and foreign SIP hosts, from the API and from the agent; no REFER leaves', async () => {
    const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 240 });
    try {
      await pointTrunkAt(uas);
      const res = await dial({ trunk_id: 'fraud_out', to_number: TO, ringing_timeout_seconds: 10 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const call = res.body as { id: string; room_name: string; participant_identity: string };

      const refused: Array<[string, string]> = [
        ['+979123456789', 'premium_rate'],
        ['tel:+88216123456', 'international_network'],
        ['sip:+15557654321@pbx.attacker.example', 'sip_host_not_allowed'],
        // The trunk's own host, but a satellite number in the user part.
        ['sip:+881631234567@127.0.0.1', 'international_network'],
        ['sip:00881631234567@127.0.0.1:5060', 'international_network'],
      ];
      for (const [to, rule] of refused) {
        const api = await gw.request('POST', `/api/calls/${call.id}/transfer`, { to });
        expect(api.status, `${to}: ${JSON.stringify(api.body)}`).toBe(403);
        expect(api.body).toMatchObject({ error: 'destination_refused', rule, field: 'to' });
      }

      // The agent's transfers (IVR, LLM tool, bridge, queue timeout) go through the same check.
      const token = await signAgentToken(stack.apiSecret, 60);
      const agent = await fetch(`${gw.internalUrl}/internal/agent/calls/transfer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          room_name: call.room_name,
          participant_identity: call.participant_identity,
          to: '+19005550123',
        }),
      });
      expect(agent.status).toBe(403);
      expect(await agent.json()).toMatchObject({
        error: 'destination_refused',
        rule: 'premium_rate',
      });

      const detail = await gw.request('GET', `/api/calls/${call.id}`);
      expect(detail.body.status).toBe('active');
      const refusals = detail.body.events.filter(
        (e: { type: string }) => e.type === 'transfer_refused',
      );
      expect(refusals).toHaveLength(refused.length + 1);
      expect(refusals.at(-1).data).toMatchObject({ rule: 'premium_rate', by: 'agent' });

      const hangup = await gw.request('POST', `/api/calls/${call.id}/hangup`);
      expect(hangup.status).toBe(200);
      const sipp = await uas.done;
      expect(sipp.code, sipp.stderr).toBe(0);
      expect(
        receivedRequest(uas.messages(), 'REFER'),
        'a REFER reached the far end',
      ).toBeUndefined();
    } finally {
      uas.stop();
    }
  });
});

describe('outbound call caps', { timeout: 300_000 }, () => {
  it('ten parallel calls on a trunk limited to one: exactly one dials, nine get 429', async () => {
    await gw.request('PUT', '/api/trunks/fraud_out', { max_concurrent_calls: 1 });
    const body = { trunk_id: 'fraud_out', to_number: TO, ringing_timeout_seconds: 8 };
    try {
      // LiveKit SIP refuses calls while the shared machine's CPU is high (a 503 that frees the
      // place at once, so another request may take it): such a burst is run again, bounded.
      for (let attempt = 1; ; attempt += 1) {
        const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 60 });
        try {
          await pointTrunkAt(uas);
          const before = await callCount([TO]);
          const results = await Promise.all(
            Array.from({ length: 10 }, () => gw.request('POST', '/api/calls', body)),
          );
          const statuses = results.map((r) => `${r.status} ${r.body?.error ?? ''}`).join(', ');
          const placed = results.filter((r) => r.status === 201);
          if (results.some(cpuExhausted) && attempt < 20) {
            for (const r of placed) await gw.request('POST', `/api/calls/${r.body.id}/hangup`);
            await new Promise((resolve) => setTimeout(resolve, 3000));
            continue;
          }
          expect(placed, statuses).toHaveLength(1);
          const limited = results.filter((r) => r.status === 429);
          expect(limited, statuses).toHaveLength(9);
          for (const r of limited) expect(r.body.error).toBe('trunk_call_limit');
          expect(await callCount([TO])).toBe(before + 1);
          // Counted in CALLS_MAX_ACTIVE (1) too: another trunk has no place while it talks.
          const other = await gw.request('POST', '/api/calls', {
            trunk_id: 'spare_out',
            to_number: TO,
          });
          expect(other.status).toBe(429);
          expect(other.body.error).toBe('calls_max_active');
          await gw.request('POST', `/api/calls/${placed[0]!.body.id}/hangup`);
          const sipp = await uas.done;
          expect(sipp.code, sipp.stderr).toBe(0);
          return;
        } finally {
          uas.stop();
        }
      }
    } finally {
      await gw.request('PUT', '/api/trunks/fraud_out', { max_concurrent_calls: null });
    }
  });

  it('calls_per_second_limit holds across two API processes: 429 with Retry-After', async () => {
    second = await startTestGateway({
      databaseUrl: gw.databaseUrl,
      dataDir: gw.dataDir,
      encryptionKey: gw.encryptionKey,
    });
    const uas = await startSippUas('uas-busy-486.xml', { timeoutSeconds: 60 });
    try {
      await pointTrunkAt(uas, 'fraud_out', { calls_per_second_limit: 1 });
      const body = { trunk_id: 'fraud_out', to_number: TO, ringing_timeout_seconds: 5 };
      const [a, b] = await Promise.all([
        gw.request('POST', '/api/calls', body),
        second.request('POST', '/api/calls', body, second.adminKey),
      ]);
      const limited = [a, b].filter((r) => r.status === 429);
      expect(limited, `${a.status} ${b.status}`).toHaveLength(1);
      expect(limited[0]!.body.error).toBe('trunk_rate_limited');
      expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      uas.stop();
      await gw.request('PUT', '/api/trunks/fraud_out', { calls_per_second_limit: null });
    }
  });
});
