import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createApiKey, roles, type Role } from '../apikeys/keys.js';
import { audit, systemActor } from '../audit/index.js';
import { ConfigError, createLogger, loadConfig, type GatewayConfig } from '../config/index.js';
import { loadEncryptionKey, openDatabase, SecretBox, type Database } from '../db/index.js';
import { createLivekitClients } from '../livekit/index.js';
import { reconcile } from '../trunks/index.js';

/**
 * While `npm start` runs, the embedded database is served by the stack process; its URL is in
 * the data folder, and the CLI connects there instead of opening the files a second time.
 */
function withRunningStack(config: GatewayConfig): GatewayConfig {
  if (config.databaseUrl) return config;
  const file = path.join(config.dataDir, 'stack', 'database-url');
  if (!existsSync(file)) return config;
  return { ...config, databaseUrl: readFileSync(file, 'utf8').trim() };
}

async function withDatabase<T>(
  work: (db: Database, config: GatewayConfig) => Promise<T>,
): Promise<T> {
  const config = withRunningStack(loadConfig());
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
      const report = await reconcile(
        {
          db: db.db,
          sip: createLivekitClients(config).sip,
          box,
          logger,
          sipPublic: config.sipPublic,
        },
        opts.mode,
        systemActor,
      );
      console.log(JSON.stringify(report, null, 2));
      if (!report.livekit_reachable) process.exitCode = 2;
    });
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
