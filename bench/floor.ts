import pg from 'pg';
import type { BenchEnv } from './setup.js';

async function perCall(n: number, work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i += 1) await work();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) await work();
  return Number(process.hrtime.bigint() - started) / 1e6 / n;
}

/**
 * What any durable HTTP API in front of LiveKit pays per write, measured here: one HTTP round
 * trip to our process and one committed one-row transaction on PostgreSQL (the WAL flush).
 */
export async function measureFloor(env: BenchEnv, databaseUrl: string) {
  const http = await perCall(300, () => fetch(`${env.apiUrl}/health`).then((r) => r.text()));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  // A real table: a TEMP one skips the WAL and would measure no durable commit at all.
  await client.query('CREATE TABLE floor_probe (id int)');
  const commit = await perCall(300, async () => {
    await client.query('BEGIN');
    await client.query('INSERT INTO floor_probe VALUES (1)');
    await client.query('COMMIT');
  });
  await client.query('DROP TABLE floor_probe');
  await client.end();
  return { http, commit };
}
