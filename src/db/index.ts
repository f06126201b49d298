import { CamelCasePlugin, Kysely, PostgresDialect, type Insertable, type Selectable } from 'kysely';
import pg from 'pg';
import type { GatewayConfig } from '../config/index.js';
import { startEmbeddedPostgres } from './embedded.js';
import type * as Tables from './generated/kysely.js';
import { migrate } from './migrate.js';

export { migrate, MigrationError } from './migrate.js';
export { SecretBox, loadEncryptionKey } from './secret-box.js';
export { sql } from 'kysely';
export type {
  ApiKeyRole,
  DispatchRuleType,
  SipTransport,
  SyncState,
  TrunkStatus,
} from './generated/kysely-enums.js';

export type DB = Tables.DB;
export type Db = Kysely<DB>;
/** A connection inside an open transaction (ours, or Kysely's `transaction()`). */
export type Tx = Kysely<DB>;
export type ApiKey = Selectable<Tables.ApiKey>;
export type AuditLog = Selectable<Tables.AuditLog>;
export type AgentProfile = Selectable<Tables.AgentProfile>;
export type Trunk = Selectable<Tables.Trunk>;
export type PhoneNumber = Selectable<Tables.PhoneNumber>;
export type DispatchRule = Selectable<Tables.DispatchRule>;
export type Call = Selectable<Tables.Call>;
export type NewWebhookDelivery = Insertable<Tables.WebhookDelivery>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'embedded';
  url: string;
  close(): Promise<void>;
}

// COUNT(*) and BIGINT ids come back as strings by default; they fit in a JS number here.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Kysely on a pg pool: camelCase in TypeScript, snake_case columns in PostgreSQL. */
export function createDb(url: string, max: number): Db {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle pooled connection the server closes (restart, failover, a dropped database) must
  // not crash the process: the pool drops it and the next query opens a new one.
  pool.on('error', () => undefined);
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin({ maintainNestedObjectKeys: true })],
  });
}

/**
 * Opens the database named by DATABASE_URL, or the embedded one under the data folder, and
 * brings its schema up to date before returning.
 */
export async function openDatabase(
  config: Pick<GatewayConfig, 'databaseUrl' | 'dataDir'> & { databasePoolMax?: number },
): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    await migrate(url);
  } catch (error) {
    await embedded?.close();
    throw error;
  }
  // PGlite is one connection underneath: one pooled client keeps transactions whole.
  const db = createDb(url, embedded ? 1 : (config.databasePoolMax ?? 10));
  return {
    db,
    kind: embedded ? 'embedded' : 'postgres',
    url,
    async close() {
      await db.destroy();
      await embedded?.close();
    },
  };
}

/**
 * The id that marks this installation's LiveKit objects: GATEWAY_INSTALLATION_ID, else the
 * database's own id. Kept in the database, not the data folder, because every process of one
 * installation (API processes on several machines) shares the database and nothing else.
 */
export async function installationOf(db: Db, configured: string | undefined): Promise<string> {
  return configured ?? (await installationId(db));
}

/** This database's identity (its installation row): the same whatever URL reaches it. */
export async function installationId(db: Db): Promise<string> {
  const row = await db.selectFrom('installation').select('id').executeTakeFirstOrThrow();
  return row.id;
}
