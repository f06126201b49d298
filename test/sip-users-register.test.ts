import { createReadStream, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { startTestGateway, type TestGateway, edgeEnv } from './helpers/gateway.js';
import { SipPhone } from './helpers/sip-phone.js';
import { runSipp } from './helpers/sipp.js';
import { digestHa1s } from '../src/sipusers/index.js';
import { summariseLogs } from '../src/diagnostics/logs.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
let edge: EdgeProcess;
let gw: TestGateway;
const phones: SipPhone[] = [];
let at: { host: string; port: number };

async function phone(host = '127.0.0.1') {
  const p = await SipPhone.open(host);
  phones.push(p);
  return p;
}

async function createUser(username: string, extra: Record<string, unknown> = {}) {
  const res = await gw.request('POST', '/api/sip-users', {
    username,
    password: `${username}-password`,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  at = { host: '127.0.0.1', port: edge.sipPort };
  gw = await startTestGateway({
    env: {
      ...edgeEnv(edge),
      EDGE_POLL_SECONDS: '0.5',
    },
  });
  for (const name of [
    'sha-phone',
    'md5-phone',
    'brute',
    'twin',
    'natted',
    'replayed',
    'typo',
    'realmy',
    'locked1',
    'lapsed',
    'sipp-phone',
  ])
    await createUser(name);
  await createUser('barred', { is_blocked: true });
  await createUser('dormant', { is_active: false });
});

afterAll(async () => {
  // The LiveKit trunks and rule the gateway made for these users: only ours.
  if (gw) {
    const ours = (m: string | undefined) => (m ?? '').includes('voice-gateway-sipusers');
    for (const r of await gw.sip.listSipDispatchRule())
      if (ours(r.metadata)) await gw.sip.deleteSipDispatchRule(r.sipDispatchRuleId);
    for (const t of [
      ...(await gw.sip.listSipInboundTrunk()),
      ...(await gw.sip.listSipOutboundTrunk()),
    ])
      if (ours(t.metadata)) await gw.sip.deleteSipTrunk(t.sipTrunkId);
  }
  for (const p of phones) p.close();
  await gw?.close();
  await edge?.stop();
});

describe('SIP users register at the edge', () => {
  it('challenges with SHA-256 and MD5 (qop=auth), registers with SHA-256, visible at once', async () => {
    const p = await phone();
    const { challenge, final, offered } = await p.register(at, {
      username: 'sha-phone',
      password: 'sha-phone-password',
      algorithm: 'SHA-256',
    });
    expect(challenge?.status).toBe(401);
    expect(offered?.map((c) => c.algorithm)).toEqual(['SHA-256', 'MD5']);
    expect(offered?.every((c) => c.qop?.includes('auth'))).toBe(true);
    expect(offered?.[0]?.realm).toBe('sip.voice-gateway.local');
    expect(final?.status, final?.text).toBe(200);
    const registeredAt = Date.now();
    const regs = await gw.request('GET', '/api/sip-users/sha-phone/registrations');
    const ms = Date.now() - registeredAt;
    expect(regs.status).toBe(200);
    expect(regs.body.registration_status).toBe('registered');
    expect(regs.body.items).toHaveLength(1);
    expect(regs.body.items[0]).toMatchObject({
      contact: `sip:sha-phone@127.0.0.1:${p.port}`,
      user_agent: 'vg-test-phone/1.0',
      transport: 'udp',
    });
    const expiresIn = Date.parse(regs.body.items[0].expires_at) - Date.now();
    expect(expiresIn).toBeGreaterThan(250_000);
    expect(expiresIn).toBeLessThan(310_000);
    expect(ms).toBeLessThan(1000);
    console.log(`REGISTER 200 OK to the API showing the contact: ${ms} ms`);
    // The poll records it in the database too (what the console and other processes read).
    const stored = await eventually(async () => {
      const u = await gw.request('GET', '/api/sip-users/sha-phone');
      return u.body.registration_expires ? u.body : undefined;
    });
    expect(stored?.user_agent).toBe('vg-test-phone/1.0');
    expect(stored?.last_registration).not.toBeNull();
  });

  it('registers sipp (MD5 only) when the edge challenges MD5 first, not when SHA-256 comes first', async () => {
    // sipp 3.6 answers only the first challenge, and only MD5: like many older desk phones.
    const scenario = path.join(
      path.dirname(fileURLToPath(import.meta.url)),
      'sipp',
      'uac-register-digest.xml',
    );
    const register = async (port: number) =>
      runSipp(
        [
          `127.0.0.1:${port}`,
          '-sf',
          scenario,
          '-s',
          'sipp-phone',
          '-au',
          'sipp-phone',
          '-ap',
          'sipp-phone-password',
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
          '-trace_err',
        ],
        mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-')),
      ).done;
    expect((await register(edge.sipPort)).code).not.toBe(0);
    const legacy = await startEdge({
      livekitHost: stack.sipHost,
      livekitPort: stack.sipPort,
      digestMd5First: true,
    });
    try {
      const ha1 = digestHa1s('sipp-phone', 'sip.voice-gateway.local', 'sipp-phone-password');
      await legacy.rpc.call('htable.sets', [
        'sipuser',
        'sipp-phone',
        `${ha1.md5}|${ha1.sha256}|ok|3|sip.voice-gateway.local|default`,
      ]);
      const result = await register(legacy.sipPort);
      expect(result.code, result.stderr).toBe(0);
      const held = await legacy.rpc.call<{ Contacts: { Contact: { 'User-Agent': string } }[] }>(
        'ul.lookup',
        ['location', 'sipp-phone'],
      );
      expect(held.Contacts[0]?.Contact['User-Agent']).toBe('sipp-register-test');
    } finally {
      await legacy.stop();
    }
  });

  it('a bulk of 1,000 users reaches the edge with the response: the last one registers at once', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      username: `fleet${String(i).padStart(4, '0')}`,
      password: `fleet-password-${i}`,
    }));
    const startedAt = Date.now();
    const res = await gw.request('POST', '/api/sip-users/bulk-create', rows);
    const ms = Date.now() - startedAt;
    expect(res.status).toBe(201);
    console.log(`bulk-create of 1,000 SIP users, pushed to the edge: ${ms} ms`);
    const p = await phone();
    const { final } = await p.register(at, {
      username: 'fleet0999',
      password: 'fleet-password-999',
    });
    expect(final?.status).toBe(200);
  });

  it('registers with MD5', async () => {
    const p = await phone();
    const { final } = await p.register(at, {
      username: 'md5-phone',
      password: 'md5-phone-password',
      algorithm: 'MD5',
    });
    expect(final?.status, final?.text).toBe(200);
    expect(final?.header('Contact')).toContain(`${p.port}`);
  });

  it('refuses a replayed REGISTER (same nonce and nc) with a fresh stale challenge', async () => {
    const p = await phone();
    const first = await p.register(at, { username: 'replayed', password: 'replayed-password' });
    expect(first.final?.status).toBe(200);
    const aor = 'sip:replayed@sip.voice-gateway.local';
    const replay = await p.send(at, {
      method: 'REGISTER',
      uri: 'sip:sip.voice-gateway.local',
      from: aor,
      to: aor,
      headers: [
        `Contact: <sip:replayed@127.0.0.1:${p.port}>`,
        'Expires: 300',
        `Authorization: ${first.authorization}`,
      ],
    });
    expect(replay?.status).toBe(401);
    expect(replay?.headers('WWW-Authenticate').join(' ')).toContain('stale=true');
  });

  it('refuses a password that is wrong, locks user+source after 5, other sources still register; unlock', async () => {
    const attacker = await phone('127.0.0.3');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const { final } = await attacker.register(at, { username: 'brute', password: `guess-${i}` });
      statuses.push(final?.status ?? 0);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 403]);
    // Locked from there, even with the right password...
    const locked = await attacker.register(at, { username: 'brute', password: 'brute-password' });
    expect(locked.final?.status).toBe(403);
    // ...while the real phone elsewhere registers.
    const real = await phone('127.0.0.4');
    const ok = await real.register(at, { username: 'brute', password: 'brute-password' });
    expect(ok.final?.status).toBe(200);
    const lockedUser = await eventually(async () => {
      const u = await gw.request('GET', '/api/sip-users/brute');
      return u.body.account_locked_until ? u.body : undefined;
    });
    expect(Date.parse(lockedUser?.account_locked_until) - Date.now()).toBeGreaterThan(1700_000);
    const lockouts = await gw.request('GET', '/api/edge/lockouts');
    expect(lockouts.body.items).toContainEqual(
      expect.objectContaining({ sip_user: 'brute', source: '127.0.0.3' }),
    );
    const unlock = await gw.request('POST', '/api/sip-users/brute/unlock');
    expect(unlock.status).toBe(200);
    expect(unlock.body.was_locked).toBe(true);
    const again = await attacker.register(at, { username: 'brute', password: 'brute-password' });
    expect(again.final?.status).toBe(200);
  });

  it('a stranger cannot tell a user on the default realm from no user: same challenges, same refusals, same lock', async () => {
    await createUser('quiet');
    const probe = async (username: string, host: string) => {
      const p = await phone(host);
      const seen: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const { challenge, final } = await p.register(at, { username, password: `guess-${i}` });
        // Everything but the nonce (fresh each time) and the tags and Via of this request.
        const shape = (m: typeof challenge) =>
          `${m?.status} ${m?.reason} ${m
            ?.headers('WWW-Authenticate')
            .map((h) => h.replace(/nonce="[^"]+"/, 'nonce=N'))
            .join(' | ')}`;
        seen.push(`${shape(challenge)} => ${shape(final)}`);
      }
      return seen;
    };
    const known = await probe('quiet', '127.0.0.6');
    const unknown = await probe('no-such-user', '127.0.0.7');
    expect(unknown).toEqual(known);
    expect(known.at(-1)).toMatch(/=> 403 Forbidden - locked out after repeated failures/);
  });

  it('refuses blocked and inactive users with 403 and the reason', async () => {
    const p = await phone();
    const blocked = await p.register(at, { username: 'barred', password: 'barred-password' });
    expect(blocked.final?.status).toBe(403);
    expect(blocked.final?.reason).toMatch(/blocked/);
    const inactive = await p.register(at, { username: 'dormant', password: 'dormant-password' });
    expect(inactive.final?.status).toBe(403);
    expect(inactive.final?.reason).toMatch(/inactive/);
    // Re-enabled through the API: registers at once.
    expect((await gw.request('PUT', '/api/sip-users/dormant', { is_active: true })).status).toBe(
      200,
    );
    const now = await p.register(at, { username: 'dormant', password: 'dormant-password' });
    expect(now.final?.status).toBe(200);
  });

  it('holds several contacts of one user', async () => {
    const desk = await phone('127.0.0.1');
    const mobile = await phone('127.0.0.2');
    for (const p of [desk, mobile])
      expect(
        (await p.register(at, { username: 'twin', password: 'twin-password' })).final?.status,
      ).toBe(200);
    const regs = await gw.request('GET', '/api/sip-users/twin/registrations');
    expect(regs.body.items.map((c: { contact: string }) => c.contact).sort()).toEqual(
      [`sip:twin@127.0.0.1:${desk.port}`, `sip:twin@127.0.0.2:${mobile.port}`].sort(),
    );
  });

  it('keeps where a phone behind NAT really sent from, and bounds the expiry', async () => {
    const p = await phone('127.0.0.6');
    const { final } = await p.register(at, {
      username: 'natted',
      password: 'natted-password',
      contactHost: '192.168.1.50:5060',
    });
    expect(final?.status).toBe(200);
    const regs = await gw.request('GET', '/api/sip-users/natted/registrations');
    expect(regs.body.items[0]).toMatchObject({
      contact: 'sip:natted@192.168.1.50:5060',
      source: `127.0.0.6:${p.port}`,
    });
    const brief = await p.register(at, {
      username: 'natted',
      password: 'natted-password',
      expires: 10,
    });
    expect(brief.final?.status).toBe(423);
    expect(brief.final?.header('Min-Expires')).toBe('60');
  });

  it("refuses registering another user's address with one's own credentials", async () => {
    const p = await phone();
    const { final } = await p.register(at, {
      username: 'md5-phone',
      password: 'md5-phone-password',
      aorUser: 'sha-phone',
    });
    expect(final?.status).toBe(403);
    const regs = await gw.request('GET', '/api/sip-users/sha-phone/registrations');
    expect(regs.body.items.map((c: { contact: string }) => c.contact)).not.toContain(
      `sip:md5-phone@127.0.0.1:${p.port}`,
    );
  });
});

describe('npm run diagnose -- registration names why a user cannot register', () => {
  const diagnosis = async (user: string) => {
    const res = await gw.request('GET', `/api/diagnostics/registration?user=${user}`);
    expect(res.status).toBe(200);
    return res.body.findings as {
      check: string;
      status: string;
      cause: string;
      evidence: string;
      fix: string;
    }[];
  };
  const causes = async (user: string) => (await diagnosis(user)).map((f) => f.cause).join('\n');

  it('no such user, naming the phone that tried', async () => {
    const p = await phone('127.0.0.9');
    const { final } = await p.register(at, { username: 'ghost', password: 'whatever-1' });
    expect(final?.status).toBe(401);
    const found = await diagnosis('ghost');
    expect(found[0]).toMatchObject({ status: 'fail' });
    expect(found[0]!.cause).toMatch(/no SIP user named "ghost"/);
    expect(found[0]!.evidence).toMatch(/127\.0\.0\.9/);
  });

  it('blocked, wrong password, realm mismatch, locked out, NAT, expired', async () => {
    expect(await causes('barred')).toMatch(/blocked/);
    const p = await phone('127.0.0.8');
    await p.register(at, { username: 'typo', password: 'typo-passw0rd' });
    expect(await causes('typo')).toMatch(/wrong password/);
    await p.register(at, { username: 'realmy', password: 'realmy-password', realm: '127.0.0.1' });
    expect(await causes('realmy')).toMatch(
      /realm mismatch: the phone answers for realm "127\.0\.0\.1"/,
    );
    for (let i = 0; i < 5; i += 1)
      await p.register(at, { username: 'locked1', password: `bad-${i}-x` });
    const locked = (await diagnosis('locked1')).find((f) => /locked out/.test(f.cause));
    expect(locked?.cause).toMatch(/from 127\.0\.0\.8 .* until 20\d\d-/);
    expect(locked?.fix).toMatch(/unlock/);
    expect(await causes('natted')).toMatch(/behind NAT/);

    // A phone that registered, then went away: its registration lapsed.
    const gone = await phone();
    expect(
      (await gone.register(at, { username: 'lapsed', password: 'lapsed-password' })).final?.status,
    ).toBe(200);
    expect((await diagnosis('lapsed'))[0]).toMatchObject({ status: 'pass' });
    expect(
      (await gone.register(at, { username: 'lapsed', password: 'lapsed-password', expires: 0 }))
        .final?.status,
    ).toBe(200);
    await gw.api.database.db
      .updateTable('sipUsers')
      .set({ registrationExpires: new Date(Date.now() - 3600_000) })
      .where('username', '=', 'lapsed')
      .execute();
    expect(await causes('lapsed')).toMatch(/registration expired at/);
  });

  it('from the command line', async () => {
    const { execFile } = await import('node:child_process');
    const run = () =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          'npx',
          ['tsx', 'src/cli/main.ts', 'diagnose', 'registration', '--user', 'barred', '--json'],
          {
            env: {
              ...process.env,
              DATABASE_URL: gw.databaseUrl,
              GATEWAY_ENCRYPTION_KEY: gw.encryptionKey,
              GATEWAY_DATA_DIR: gw.dataDir,
              EDGE_ENABLED: 'true',
              EDGE_RPC_URL: edge.rpcUrl,
              EDGE_RPC_SECRET: edge.settings.rpcSecret,
              LOG_LEVEL: 'silent',
            },
            timeout: 60_000,
          },
          (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout }),
        );
      });
    const { code, out } = await run();
    expect(code).toBe(2);
    const body = JSON.parse(out) as { findings: { cause: string }[] };
    expect(body.findings.map((f) => f.cause).join(' ')).toMatch(/blocked/);
  }, 70_000);

  it("classifies the edge's own lines about SIP users (npm run diagnose -- logs)", async () => {
    const findings = await summariseLogs(createReadStream(edge.process.logFile));
    const kinds = findings.map((f) => f.check);
    expect(kinds).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/sip_user_locked/),
        expect.stringMatching(/sip_user_auth_refused/),
        expect.stringMatching(/sip_user_not_active/),
      ]),
    );
  });
});
