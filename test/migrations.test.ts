import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/config/paths.js';
import { migrate, MigrationError } from '../src/db/migrate.js';
import { createTestDatabase } from './helpers/gateway.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('migrations on PostgreSQL without the Prisma engine', () => {
  it('applies the schema once and records it the way prisma migrate does', async () => {
    const shipped = readdirSync(path.join(packageRoot(), 'prisma', 'migrations'), {
      withFileTypes: true,
    })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    const first = await migrate(db.url);
    expect(first.applied).toEqual(shipped);
    const second = await migrate(db.url);
    expect(second).toEqual({ applied: [], alreadyApplied: shipped.length });
    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
    }>('SELECT migration_name, checksum, finished_at FROM _prisma_migrations');
    expect(rows).toHaveLength(shipped.length);
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.finished_at).not.toBeNull();
    const tables = await query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        'trunks',
        'phone_numbers',
        'dispatch_rules',
        'api_keys',
        'audit_log',
        'agent_profiles',
      ]),
    );
  });

  it('rolls back a failing migration whole and names it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-migrations-'));
    mkdirSync(path.join(dir, '001_ok'));
    writeFileSync(path.join(dir, '001_ok', 'migration.sql'), 'CREATE TABLE extra_ok (id int);');
    mkdirSync(path.join(dir, '002_broken'));
    writeFileSync(
      path.join(dir, '002_broken', 'migration.sql'),
      'CREATE TABLE half_written (id int);\nALTER TABLE no_such_table ADD COLUMN x int;',
    );
    const error = await migrate(db.url, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).message).toMatch(
      /migration 002_broken failed: .*no_such_table/,
    );
    const tables = await query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_name IN ('extra_ok', 'half_written')",
    );
    expect(tables.map((t) => t.table_name)).toEqual(['extra_ok']);
  });
});
