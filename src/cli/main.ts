import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createApiKey, roles, type Role } from '../apikeys/keys.js';
import { audit, systemActor } from '../audit/index.js';
import { ConfigError, dataDirOf, loadConfig, type GatewayConfig } from '../config/index.js';
import { createLogger } from '../kernel/logger.js';
import {
  installationOf,
  loadEncryptionKey,
  openDatabase,
  SecretBox,
  type Database,
} from '../db/index.js';
import { createLivekitClients } from '../livekit/index.js';
import {
  areas,
  diagnose,
  exitCode,
  renderTable,
  type Area,
  type Finding,
} from '../diagnostics/index.js';
import { logFileStream, summariseLogs } from '../diagnostics/logs.js';
import type { SimulatedCall } from '../diagnostics/call-simulator.js';
import { checkCallRoute } from '../diagnostics/calls-check.js';
import { SipClient } from 'livekit-server-sdk';
import { reconcile, trunksDeps } from '../trunks/index.js';

/**
 * While `npm start` runs, it leaves its settings (database URL of the embedded database, LiveKit
 * keys, ports) in the data folder; the CLI uses them for anything the environment does not set.
 */
function cliConfig(): GatewayConfig {
  const dataDir = dataDirOf(process.env);
  const file = path.join(dataDir, 'stack', 'env.json');
  const stack = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  return loadConfig({ ...stack, ...process.env });
}

async function withDatabase<T>(
  work: (db: Database, config: GatewayConfig) => Promise<T>,
): Promise<T> {
  const config = cliConfig();
  const db = await openDatabase(config);
  try {
    return await work(db, config);
  } finally {
    await db.close();
  }
}

const program = new Command()
  .name('voice-gateway')
  .description('Operator command line of the voice gateway')
  .showHelpAfterError();

const keys = program.command('keys').description('API keys for the REST API');
keys
  .command('create')
  .description('create an API key and print it (shown once; only its hash is stored)')
  .requiredOption('--name <name>', 'who or what the key is for')
  .addOption(new Option('--role <role>', 'what the key may do').choices(roles).default('admin'))
  .option('--if-none', 'only create when no active key exists (first start)')
  .option('--json', 'print JSON')
  .action(async (opts: { name: string; role: Role; ifNone?: boolean; json?: boolean }) => {
    await withDatabase(async (db) => {
      const active = await db.db
        .selectFrom('apiKeys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('revokedAt', 'is', null)
        .executeTakeFirstOrThrow();
      if (opts.ifNone && active.n > 0) {
        if (opts.json) console.log(JSON.stringify({ created: false }));
        else console.log('An API key already exists; none created.');
        return;
      }
      const created = await db.db.transaction().execute(async (tx) => {
        const result = await createApiKey(tx, opts.name, opts.role);
        await audit(
          tx,
          { keyId: null, name: 'cli' },
          {
            action: 'api_key.create',
            entityType: 'api_key',
            entityId: result.record.id,
            details: { name: opts.name, role: opts.role },
          },
        );
        return result;
      });
      if (opts.json)
        console.log(
          JSON.stringify({
            created: true,
            id: created.record.id,
            role: opts.role,
            key: created.key,
          }),
        );
      else
        console.log(
          `Created ${opts.role} key "${opts.name}" (shown once, store it now):\n${created.key}`,
        );
    });
  });
keys
  .command('list')
  .description('list API keys (never their secrets)')
  .action(async () => {
    await withDatabase(async (db) => {
      const rows = await db.db.selectFrom('apiKeys').selectAll().orderBy('createdAt').execute();
      console.table(
        rows.map((k) => ({
          prefix: k.prefix,
          name: k.name,
          role: k.role,
          created: k.createdAt.toISOString(),
          revoked: k.revokedAt?.toISOString() ?? '',
        })),
      );
    });
  });
keys
  .command('revoke <prefix>')
  .description('revoke a key by its prefix (the part after vgk_)')
  .action(async (prefix: string) => {
    await withDatabase(async (db) => {
      const key = await db.db
        .selectFrom('apiKeys')
        .selectAll()
        .where('prefix', '=', prefix)
        .executeTakeFirst();
      if (!key) throw new Error(`no API key with prefix ${prefix}`);
      await db.db
        .updateTable('apiKeys')
        .set({ revokedAt: new Date() })
        .where('id', '=', key.id)
        .execute();
      await audit(
        db.db,
        { keyId: null, name: 'cli' },
        { action: 'api_key.revoke', entityType: 'api_key', entityId: key.id },
      );
      console.log(`Revoked ${prefix}.`);
    });
  });

program
  .command('migrate')
  .description('apply pending database migrations (also done on every start)')
  .action(async () => {
    await withDatabase(async (db) => console.log(`Database (${db.kind}) is up to date.`));
  });

program
  .command('reconcile')
  .description('compare the database with LiveKit; repair drift unless --mode report')
  .addOption(new Option('--mode <mode>').choices(['repair', 'report']).default('repair'))
  .action(async (opts: { mode: 'repair' | 'report' }) => {
    await withDatabase(async (db, config) => {
      const logger = createLogger({ level: 'warn', redactPii: true });
      const box = new SecretBox(loadEncryptionKey(config.encryptionKey, config.dataDir));
      const deps = trunksDeps({
        config,
        db: db.db,
        sip: createLivekitClients(config).sip,
        box,
        installation: await installationOf(db.db, config.installationId),
        logger,
      });
      const report = await reconcile(deps, opts.mode, systemActor);
      console.log(JSON.stringify(report, null, 2));
      if (!report.livekit_reachable) process.exitCode = 2;
    });
  });

program
  .command('logs')
  .description(
    'classify LiveKit SIP / server log lines: a file, stdin, or --watch N seconds of either',
  )
  .option('--file <path>', 'a log file (default: stdin)')
  .option('--watch <seconds>', 'follow new lines for this many seconds, then report', watchSeconds)
  .option('--json', 'print JSON')
  .action(runLogs);

program
  .command('simulate-call')
  .description(
    'which trunk and dispatch rule LiveKit would pick for a call, or why it would drop or reject it',
  )
  .requiredOption('--caller <number>', 'the From user, as the provider sends it')
  .requiredOption('--called <number>', 'the To user, as the provider sends it')
  .requiredOption('--source-ip <ip>', 'where the INVITE comes from')
  .option('--from-host <host>', 'host of the From URI')
  .option('--username <user>', 'digest username the caller would send')
  .option('--password <password>', 'digest password the caller would send')
  .option('--json', 'print JSON')
  .action(simulateCall);

program
  .command('diagnose [area]')
  .description(
    `name what is wrong and how to fix it; area: ${[...areas, 'logs', 'all'].join(', ')}`,
  )
  .option('--username <name>', 'turn: a TURN username to check; calls: the digest username')
  .option('--credential <credential>', "turn: the TURN username's credential")
  .option('--caller <number>', 'calls: simulate a call from this From user')
  .option('--called <number>', 'calls: ... to this To user')
  .option('--source-ip <ip>', 'calls: ... from this address')
  .option('--from-host <host>', 'calls: ... with this From host')
  .option('--password <password>', 'calls: ... with this digest password')
  .option('--user <name>', 'registration: the SIP user that cannot register')
  .option('--file <path>', 'logs: a log file (default: stdin)')
  .option('--watch <seconds>', 'logs: follow new lines for this many seconds', watchSeconds)
  .option('--json', 'print JSON')
  .action(async (area: string | undefined, opts: DiagnoseOptions) => {
    const chosen = area ?? 'all';
    if (chosen === 'logs') return runLogs(opts);
    if (chosen === 'calls' && (opts.caller || opts.called || opts.sourceIp)) {
      if (!opts.caller || !opts.called || !opts.sourceIp) {
        throw new Error('a simulated call needs --caller, --called and --source-ip');
      }
      return simulateCall({
        ...opts,
        caller: opts.caller,
        called: opts.called,
        sourceIp: opts.sourceIp,
      });
    }
    if (chosen !== 'all' && !(areas as readonly string[]).includes(chosen)) {
      throw new Error(
        `unknown area ${JSON.stringify(chosen)}; one of ${[...areas, 'logs', 'all'].join(', ')}`,
      );
    }
    const turnPair =
      opts.username && opts.credential
        ? { username: opts.username, credential: opts.credential }
        : undefined;
    const findings = await diagnose(cliConfig(), chosen as Area | 'all', undefined, {
      turnPair,
      sipUser: opts.user,
    });
    print(chosen, findings, opts.json);
  });

interface LogsOptions {
  file?: string;
  watch?: number;
  json?: boolean;
}

type SimulateOptions = SimulatedCall & { json?: boolean };

type DiagnoseOptions = LogsOptions &
  Partial<SimulateOptions> & { credential?: string; json?: boolean; user?: string };

function watchSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new Error('--watch takes 1-86400 seconds');
  return n;
}

function print(area: string, findings: Finding[], json: boolean | undefined, extra = {}): void {
  console.log(json ? JSON.stringify({ area, findings, ...extra }, null, 2) : renderTable(findings));
  process.exitCode = exitCode(findings);
}

async function runLogs(opts: LogsOptions): Promise<void> {
  const source = opts.file
    ? logFileStream(opts.file, opts.watch)
    : {
        stream: process.stdin,
        until: opts.watch
          ? new Promise((resolve) => setTimeout(resolve, opts.watch! * 1000))
          : undefined,
      };
  // Scripts following a file wait for this before making the traffic they want to see.
  if (opts.watch) console.error(`watching ${opts.file ?? 'stdin'} for ${opts.watch} s`);
  const findings = await summariseLogs(source.stream, source.until);
  print('logs', findings, opts.json);
  if (!opts.file) process.stdin.destroy();
}

async function simulateCall(opts: SimulateOptions): Promise<void> {
  const config = cliConfig();
  const sip = new SipClient(config.livekit.url, config.livekit.apiKey, config.livekit.apiSecret);
  const { finding, simulation } = await checkCallRoute(sip, opts);
  print('calls', [finding], opts.json, { simulation });
}

try {
  await program.parseAsync();
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
