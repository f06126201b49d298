import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SipClient } from 'livekit-server-sdk';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { packageRoot } from '../src/config/paths.js';
import { createDb, migrate } from '../src/db/index.js';
import { diagnose, type Area, type Finding } from '../src/diagnostics/index.js';
import { summariseLogs } from '../src/diagnostics/logs.js';
import { ensureLivekitBinaries } from '../scripts/stack/binaries.js';
import { startCoturn } from '../scripts/stack/coturn.js';
import { freePortBlock } from '../scripts/stack/ports.js';
import { startProcess, waitUntil, type ManagedProcess } from '../scripts/stack/processes.js';
import { createTestDatabase } from './helpers/database.js';
import { clearLivekitSip } from './helpers/gateway.js';
import { sippCall } from './helpers/sipp.js';
import { eventually } from './helpers/wait.js';

const run = promisify(execFile);
const stack = inject('stack');
const serverConfig = path.join(stack.configDir, 'livekit.yaml');
const sipConfig = path.join(stack.configDir, 'livekit-sip.yaml');
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Settings for the real stack, with `overrides` applied. */
function env(overrides: Record<string, string> = {}) {
  return {
    GATEWAY_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'vg-diag-')),
    LIVEKIT_URL: stack.livekitUrl,
    LIVEKIT_API_KEY: stack.apiKey,
    LIVEKIT_API_SECRET: stack.apiSecret,
    LIVEKIT_CONFIG_FILE: serverConfig,
    LIVEKIT_SIP_CONFIG_FILE: sipConfig,
    SIP_PUBLIC_HOST: stack.sipHost,
    SIP_PUBLIC_PORT: String(stack.sipPort),
    ...overrides,
  };
}

function livekitSip(): SipClient {
  return new SipClient(stack.livekitUrl, stack.apiKey, stack.apiSecret);
}

/** A copy of one of the stack's configs with `change` applied. */
function changedConfig(file: string, change: (doc: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(doc);
  const out = path.join(
    mkdtempSync(path.join(os.tmpdir(), 'vg-diag-config-')),
    path.basename(file),
  );
  writeFileSync(out, stringify(doc));
  return out;
}

function finding(findings: Finding[], check: string): Finding {
  const found =
    findings.find((f) => f.check === check && f.status !== 'pass') ??
    findings.find((f) => f.check === check);
  if (!found) throw new Error(`no finding for ${check}: ${JSON.stringify(findings)}`);
  return found;
}

describe('a healthy stack', () => {
  it('passes every check, TURN included', async () => {
    const sip = livekitSip();
    await clearLivekitSip(sip);
    const trunk = await sip.createSipInboundTrunk('Healthy line', ['+15550101111'], {
      allowedAddresses: ['127.0.0.1'],
    });
    await sip.createSipDispatchRule(
      { type: 'individual', roomPrefix: 'call-' },
      { trunkIds: [trunk.sipTrunkId], name: 'Healthy rule' },
    );
    const secret = 'one-secret-for-both-of-them-000';
    const coturn = await startCoturn(secret);
    cleanups.push(() => coturn.stop());
    // LiveKit hands its own clients the same coturn, with the same secret.
    const withTurn = changedConfig(serverConfig, (d) => {
      (d.rtc as Record<string, unknown>).turn_servers = [
        { host: '127.0.0.1', port: coturn.port, protocol: 'udp', secret },
      ];
    });
    const findings = await diagnose(
      loadConfig(
        env({
          TURN_SECRET: secret,
          TURN_PORT: String(coturn.port),
          LIVEKIT_CONFIG_FILE: withTurn,
        }),
      ),
      'all',
    );
    const notPassing = findings.filter((f) => f.status !== 'pass');
    expect(notPassing).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual(
      expect.arrayContaining([
        'config.redis',
        'config.turn_secret',
        'sip.options',
        'sip.health',
        'sip.redis_servers',
        'sip.server_api',
        'calls.trunk Healthy line',
        'turn.allocate',
        'turn.clock',
        'turn.relay',
      ]),
    );
  });
});

/**
 * Each failure from the field, produced for real, and what the diagnosis must say.
 * To add one: a setup that returns the settings under which it happens, and the expectation.
 */
const failures: {
  name: string;
  setup: () => Promise<Record<string, string>>;
  area: Area;
  check: string;
  status: 'fail' | 'warn';
  cause: RegExp;
}[] = [
  {
    name: 'LiveKit SIP on a second Redis rejects calls with "auth check failed ... no response from servers"',
    area: 'sip',
    check: 'sip.redis_servers',
    status: 'fail',
    cause: /no livekit-server is registered/,
    async setup() {
      const base = await freePortBlock(60);
      const redis = startProcess(
        'redis-second',
        'redis-server',
        ['--bind', '127.0.0.1', '--port', String(base), '--save', '', '--appendonly', 'no'],
        { logDir: mkdtempSync(path.join(os.tmpdir(), 'vg-redis2-')) },
      );
      cleanups.push(() => redis.stop());
      const config = changedConfig(sipConfig, (doc) => {
        doc.redis = { address: `127.0.0.1:${base}` };
        doc.sip_port = base + 1;
        doc.rtp_port = `${base + 10}-${base + 59}`;
      });
      const sip = await startSecondSip(config, base + 1);
      // The field symptom: an INVITE to it is rejected, and its log says why it thinks so.
      const call = sippCall({
        host: '127.0.0.1',
        port: base + 1,
        number: '+15550101234',
        timeoutSeconds: 8,
      });
      const logged = await eventually(
        async () =>
          /no response from servers/.test(readFileSync(sip.logFile, 'utf8')) ? true : undefined,
        15_000,
      );
      call.stop();
      await call.done;
      expect(logged, 'livekit-sip did not log "no response from servers"').toBe(true);
      // The log classifier names the same cause from that log.
      const fromLog = await summariseLogs(createReadStream(sip.logFile, { encoding: 'utf8' }));
      expect(fromLog.map((f) => f.check)).toContain('logs.no_server_over_redis');
      return { LIVEKIT_SIP_CONFIG_FILE: config, SIP_PUBLIC_PORT: String(base + 1) };
    },
  },
  {
    name: 'livekit-server without Redis has no SIP service',
    area: 'sip',
    check: 'sip.server_api',
    status: 'fail',
    cause: /runs without Redis/,
    async setup() {
      const base = await freePortBlock(60);
      const config = changedConfig(serverConfig, (doc) => {
        delete doc.redis;
        delete doc.webhook;
        doc.port = base;
        doc.rtc = {
          ...(doc.rtc as object),
          tcp_port: base + 1,
          port_range_start: base + 10,
          port_range_end: base + 50,
        };
      });
      const binaries = await ensureLivekitBinaries();
      const server = startProcess('livekit-no-redis', binaries.server, ['--config', config], {
        logDir: path.dirname(config),
      });
      cleanups.push(() => server.stop());
      await waitUntil(
        'livekit-server without redis',
        async () => (await fetch(`http://127.0.0.1:${base}`)).ok,
        { timeoutMs: 20_000, exited: server.exited },
      );
      return { LIVEKIT_URL: `http://127.0.0.1:${base}`, LIVEKIT_CONFIG_FILE: config };
    },
  },
  {
    name: 'coturn and the API hold different TURN secrets (401)',
    area: 'turn',
    check: 'turn.allocate',
    status: 'fail',
    cause: /different secrets/,
    async setup() {
      const coturn = await startCoturn('the-secret-coturn-was-given-000');
      cleanups.push(() => coturn.stop());
      return { TURN_SECRET: 'the-secret-the-api-was-given-000', TURN_PORT: String(coturn.port) };
    },
  },
  {
    name: 'coturn hands out a relay address that does not reach it (no port forward or hairpin)',
    area: 'turn',
    check: 'turn.relay',
    status: 'fail',
    cause: /does not reach coturn/,
    async setup() {
      // 127.0.0.5 stands for a public address whose relay ports are not forwarded to coturn:
      // coturn relays on 127.0.0.1 but tells clients to use 127.0.0.5.
      const coturn = await startCoturn('one-secret-for-both-of-them-000', {
        extraArgs: ['--external-ip=127.0.0.5/127.0.0.1'],
      });
      cleanups.push(() => coturn.stop());
      return { TURN_SECRET: 'one-secret-for-both-of-them-000', TURN_PORT: String(coturn.port) };
    },
  },
  {
    name: "coturn's clock runs 20 minutes ahead, so fresh credentials look expired (401)",
    area: 'turn',
    check: 'turn.clock',
    status: 'fail',
    cause: /clock is ahead of the API's by 600 s to 3600 s/,
    async setup() {
      const coturn = await startCoturn('one-secret-for-both-of-them-000', {
        clockOffset: '+20m',
      });
      cleanups.push(() => coturn.stop());
      return { TURN_SECRET: 'one-secret-for-both-of-them-000', TURN_PORT: String(coturn.port) };
    },
  },
  {
    name: "LiveKit SIP's health port does not answer",
    area: 'sip',
    check: 'sip.health',
    status: 'fail',
    cause: /health port does not answer/,
    async setup() {
      const port = await freePortBlock(1);
      // The config names a health port the running livekit-sip was not started with.
      return {
        LIVEKIT_SIP_CONFIG_FILE: changedConfig(sipConfig, (d) => void (d.health_port = port)),
      };
    },
  },
  {
    name: 'a trunk number no dispatch rule takes: LiveKit drops the INVITE and the caller hears ringing',
    area: 'calls',
    check: 'calls.trunk Sales line',
    status: 'fail',
    cause: /no dispatch rule did: LiveKit drops the INVITE/,
    async setup() {
      const sip = livekitSip();
      await clearLivekitSip(sip);
      await sip.createSipInboundTrunk('Sales line', ['+15550102222'], {
        allowedAddresses: ['127.0.0.1'],
      });
      const support = await sip.createSipInboundTrunk('Support line', ['+15550103333'], {
        allowedAddresses: ['127.0.0.1'],
      });
      // The rule was scoped to the other trunk only.
      await sip.createSipDispatchRule(
        { type: 'individual', roomPrefix: 'call-' },
        { trunkIds: [support.sipTrunkId], name: 'Support only' },
      );
      cleanups.push(() => clearLivekitSip(sip));
      // What LiveKit itself does with such a call: no answer at all (sipp sees a timeout).
      const call = sippCall({
        host: stack.sipHost,
        port: stack.sipPort,
        number: '+15550102222',
        timeoutSeconds: 4,
      });
      const outcome = await call.done;
      expect(outcome.code, 'sipp: the call should go unanswered').not.toBe(0);
      expect(outcome.stdout + outcome.stderr).not.toMatch(/200 OK.*1\s*$/m);
      return {};
    },
  },
  {
    name: "livekit-server hands its clients TURN servers with another secret than the API's",
    area: 'config',
    check: 'config.turn_secret',
    status: 'fail',
    cause: /another secret than the API's/,
    setup: async () => ({
      TURN_SECRET: 'one-secret-for-both-of-them-000',
      LIVEKIT_CONFIG_FILE: changedConfig(serverConfig, (d) => {
        (d.rtc as Record<string, unknown>).turn_servers = [
          {
            host: '127.0.0.1',
            port: 3478,
            protocol: 'udp',
            secret: 'a-stale-secret-from-last-year',
          },
        ];
      }),
    }),
  },
  {
    name: 'livekit-server and LiveKit SIP configured with different Redis',
    area: 'config',
    check: 'config.redis',
    status: 'fail',
    cause: /different Redis/,
    setup: async () => ({
      LIVEKIT_SIP_CONFIG_FILE: changedConfig(
        sipConfig,
        (d) => void (d.redis = { address: '127.0.0.1:6999' }),
      ),
    }),
  },
  {
    name: 'self-hosted LiveKit SIP pointed at a LiveKit Cloud URL',
    area: 'config',
    check: 'config.ws_url',
    status: 'fail',
    cause: /LiveKit Cloud/,
    setup: async () => ({
      LIVEKIT_SIP_CONFIG_FILE: changedConfig(
        sipConfig,
        (d) => void (d.ws_url = 'wss://myproject-abc123.livekit.cloud'),
      ),
    }),
  },
  {
    name: 'LiveKit SIP with a key livekit-server does not have',
    area: 'config',
    check: 'config.sip_key',
    status: 'fail',
    cause: /does not know/,
    setup: async () => ({
      LIVEKIT_SIP_CONFIG_FILE: changedConfig(
        sipConfig,
        (d) => void (d.api_key = 'APIsomeotherkey'),
      ),
    }),
  },
  {
    name: 'log_level in livekit-sip.yaml (LiveKit SIP reads logging.level)',
    area: 'config',
    check: 'config.ignored_keys',
    status: 'warn',
    cause: /silently ignores/,
    setup: async () => ({
      LIVEKIT_SIP_CONFIG_FILE: changedConfig(sipConfig, (d) => void (d.log_level = 'debug')),
    }),
  },
  {
    name: 'RTP ports overlapping WebRTC ports',
    area: 'config',
    check: 'config.port_ranges',
    status: 'fail',
    cause: /overlap/,
    async setup() {
      const rtc = (
        parse(readFileSync(serverConfig, 'utf8')) as { rtc: { port_range_start: number } }
      ).rtc;
      return {
        LIVEKIT_SIP_CONFIG_FILE: changedConfig(
          sipConfig,
          (d) => void (d.rtp_port = `${rtc.port_range_start}-${rtc.port_range_start + 100}`),
        ),
      };
    },
  },
  {
    name: 'use_external_ip together with nat_1_to_1_ip',
    area: 'config',
    check: 'config.nat',
    status: 'warn',
    cause: /both use_external_ip and nat_1_to_1_ip/,
    setup: async () => ({
      LIVEKIT_SIP_CONFIG_FILE: changedConfig(sipConfig, (d) => void (d.use_external_ip = true)),
    }),
  },
  {
    name: 'webhooks signed with a key the gateway does not hold',
    area: 'config',
    check: 'config.webhook_key',
    status: 'fail',
    cause: /not among its keys/,
    setup: async () => ({
      LIVEKIT_CONFIG_FILE: changedConfig(
        serverConfig,
        (d) => void ((d.webhook as Record<string, unknown>).api_key = 'APInotakey'),
      ),
    }),
  },
  {
    name: "LiveKit signs its webhooks with a valid key that is not the gateway's",
    area: 'webhooks',
    check: 'webhooks.livekit',
    status: 'fail',
    cause: /rejected with 401/,
    setup: async () => ({
      LIVEKIT_CONFIG_FILE: changedConfig(serverConfig, (d) => {
        (d.keys as Record<string, string>).APIsecondkey = 'a-second-secret-of-enough-length-000';
        (d.webhook as Record<string, unknown>).api_key = 'APIsecondkey';
      }),
    }),
  },
  // More registration failures (401 wrong password, 403 unknown user) against a real
  // registrar: test/edge-registration.test.ts.
  {
    name: 'a trunk asks to be registered but no gateway runs the SIP edge',
    area: 'registration',
    check: 'registration.edge',
    status: 'fail',
    cause: /runs no SIP edge/,
    setup: () => databaseWithRegisteringTrunk({ EDGE_ENABLED: 'false' }),
  },
  {
    name: 'the SIP edge does not answer its JSON-RPC',
    area: 'registration',
    check: 'registration.edge',
    status: 'fail',
    cause: /does not answer/,
    setup: async () =>
      databaseWithRegisteringTrunk({
        EDGE_ENABLED: 'true',
        EDGE_RPC_URL: `http://127.0.0.1:${await freePortBlock(1)}/RPC`,
        EDGE_RPC_SECRET: 'diagnostics-test-secret',
      }),
  },
];

/** A migrated database holding one trunk with register=true, and settings pointing at it. */
async function databaseWithRegisteringTrunk(extra: Record<string, string>) {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  await migrate(database.url);
  const db = createDb(database.url, 1);
  await db
    .insertInto('trunks')
    .values({
      id: randomUUID(),
      trunkId: 'registers',
      name: 'Registers',
      provider: 'generic',
      supportsInbound: true,
      supportsOutbound: false,
      allowedAddresses: ['127.0.0.1'],
      preferredCodecs: [],
      numberFormat: 'e164',
      register: true,
      registrar: '127.0.0.1:5999',
      username: 'acct',
      updatedAt: new Date(),
    })
    .execute();
  await db.destroy();
  return {
    DATABASE_URL: database.url,
    GATEWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ...extra,
  };
}

async function startSecondSip(config: string, port: number): Promise<ManagedProcess> {
  const binaries = await ensureLivekitBinaries();
  const sip = startProcess('livekit-sip-second', binaries.sip, ['--config', config], {
    logDir: path.dirname(config),
  });
  cleanups.push(() => sip.stop());
  const { sipOptions } = await import('../src/livekit/index.js');
  await waitUntil(
    'second livekit-sip',
    async () => (await sipOptions('127.0.0.1', port, { timeoutMs: 300 })).status === 200,
    { timeoutMs: 20_000, exited: sip.exited },
  );
  return sip;
}

describe('failures from the field are named', () => {
  for (const failure of failures) {
    it(
      failure.name,
      async () => {
        const overrides = await failure.setup();
        const found = finding(
          await diagnose(loadConfig(env(overrides)), failure.area),
          failure.check,
        );
        expect(found.status).toBe(failure.status);
        expect(found.cause).toMatch(failure.cause);
        expect(found.evidence).not.toBe('');
        expect(found.fix).not.toBe('');
      },
      60_000,
    );
  }
});

describe('the CLI and the API give the same findings', () => {
  it('npm run diagnose prints JSON and exits 2 on a failure', async () => {
    const bad = changedConfig(sipConfig, (d) => void (d.redis = { address: '127.0.0.1:6999' }));
    const result = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'diagnose', 'config', '--json'],
      {
        cwd: packageRoot(),
        env: { ...process.env, ...env({ LIVEKIT_SIP_CONFIG_FILE: bad }) },
      },
    ).catch((e: { code: number; stdout: string }) => e);
    expect((result as { code?: number }).code).toBe(2);
    const body = JSON.parse((result as { stdout: string }).stdout) as { findings: Finding[] };
    expect(finding(body.findings, 'config.redis').status).toBe('fail');
  });

  it('GET /api/diagnostics/:area answers for operators only', async () => {
    const { startTestGateway } = await import('./helpers/gateway.js');
    const gw = await startTestGateway({
      env: {
        LIVEKIT_CONFIG_FILE: serverConfig,
        LIVEKIT_SIP_CONFIG_FILE: sipConfig,
        SIP_PUBLIC_PORT: String(stack.sipPort),
      },
    });
    cleanups.push(() => gw.close());
    const res = await gw.request('GET', '/api/diagnostics/config');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pass');
    expect(res.body.findings.map((f: Finding) => f.check)).toContain('config.redis');
    expect((await gw.request('GET', '/api/diagnostics/nope')).status).toBe(404);
    expect(
      (await gw.request('GET', '/api/diagnostics/config', undefined, await gw.keyFor('viewer')))
        .status,
    ).toBe(403);
  });
});

describe('the log classifier', () => {
  it('--watch names a call LiveKit dropped because no dispatch rule matched, from the live livekit-sip log', async () => {
    const { startTestGateway, clearLivekitSip } = await import('./helpers/gateway.js');
    const gw = await startTestGateway();
    cleanups.push(() => gw.close());
    await clearLivekitSip(gw.sip);
    const trunk = await gw.request('POST', '/api/trunks', {
      name: 'No rule',
      provider: 'generic',
      numbers: ['+15550106666'],
      allowed_addresses: ['127.0.0.1'],
    });
    expect(trunk.status).toBe(201);
    const watcher = execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'logs',
        '--file',
        path.join(stack.logDir, 'livekit-sip.log'),
        '--watch',
        '6',
        '--json',
      ],
      { cwd: packageRoot(), env: process.env },
    );
    let stdout = '';
    let stderr = '';
    watcher.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    watcher.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => watcher.once('exit', resolve));
    // Dial only once the watcher has taken its place at the end of the file.
    expect(
      await eventually(async () => (stderr.includes('watching') ? true : undefined), 20_000),
    ).toBe(true);
    const call = sippCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: '+15550106666',
      timeoutSeconds: 3,
    });
    await call.done;
    const code = await exited;
    const body = JSON.parse(stdout) as { findings: Finding[] };
    const found = finding(body.findings, 'logs.dropped_silently');
    expect(found.status).toBe('fail');
    expect(found.evidence).not.toContain('+15550106666');
    expect(code).toBe(2);
  }, 60_000);

  it('names RTP ports exhausted: LiveKit SIP answers 500 when another process holds its rtp_port range', async () => {
    const sip = livekitSip();
    await clearLivekitSip(sip);
    const trunk = await sip.createSipInboundTrunk('Ports line', ['+15550104444'], {
      allowedAddresses: ['127.0.0.1'],
    });
    await sip.createSipDispatchRule(
      { type: 'individual', roomPrefix: 'ports-' },
      { trunkIds: [trunk.sipTrunkId], name: 'Ports rule' },
    );
    cleanups.push(() => clearLivekitSip(sip));
    const base = await freePortBlock(20);
    const even = base + 10 + (base % 2);
    // The range holds one even port (RTP takes even ones), and another process has it.
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(even, '127.0.0.1', resolve));
    cleanups.push(async () => holder.close());
    const config = changedConfig(sipConfig, (d) => {
      d.sip_port = base + 1;
      d.rtp_port = `${even}-${even + 1}`;
    });
    const second = await startSecondSip(config, base + 1);
    const call = sippCall({
      host: '127.0.0.1',
      port: base + 1,
      number: '+15550104444',
      timeoutSeconds: 6,
    });
    const result = await call.done;
    expect(result.code, 'the call should be refused').not.toBe(0);
    const logged = await eventually(
      async () =>
        /Cannot start media/.test(readFileSync(second.logFile, 'utf8')) ? true : undefined,
      10_000,
    );
    expect(logged, 'livekit-sip did not log "Cannot start media"').toBe(true);
    const findings = await summariseLogs(createReadStream(second.logFile, { encoding: 'utf8' }));
    const found = finding(findings, 'logs.rtp_ports_exhausted');
    expect(found.status).toBe('fail');
    expect(found.fix).toMatch(/widen rtp_port/);
  }, 60_000);

  it('reads LiveKit JSON log lines from stdin', async () => {
    const lines = [
      JSON.stringify({
        level: 'warn',
        ts: 1,
        logger: 'sip',
        msg: 'Rejecting inbound, auth check failed',
        error: 'no response from servers',
        callID: 'SCL_json',
      }),
      JSON.stringify({ level: 'info', ts: 2, logger: 'sip', msg: 'sip signaling listening on' }),
      'not a log line at all',
    ].join('\n');
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'diagnose', 'logs', '--json'],
      { cwd: packageRoot() },
    );
    child.stdin!.end(lines);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const body = JSON.parse(out) as { findings: Finding[] };
    expect(body.findings).toHaveLength(1);
    expect(body.findings[0]).toMatchObject({ check: 'logs.no_server_over_redis', status: 'fail' });
    expect(body.findings[0]!.evidence).toContain('SCL_json');
    expect(code).toBe(2);
  });
});
