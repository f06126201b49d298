import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createApiKey } from '../src/apikeys/keys.js';
import { loadConfig } from '../src/config/index.js';
import { packageRoot } from '../src/config/paths.js';
import { startApi, type RunningApi } from '../src/http/server.js';
import { startLocalStack, type LocalStack } from '../scripts/stack/local-stack.js';
import { freePortBlock } from '../scripts/stack/ports.js';

const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface BenchEnv {
  stack: LocalStack;
  api: RunningApi;
  adminKey: string;
  close(): Promise<void>;
}

/** The real stack on free loopback ports, and the API on a fresh PostgreSQL database. */
export async function startBenchEnv(): Promise<BenchEnv> {
  const base = await freePortBlock(160);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-'));
  const keys = {
    apiKey: `APIbench${randomBytes(3).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  const stack = await startLocalStack({
    root: packageRoot(),
    dataDir,
    keys,
    ports: {
      redis: base,
      livekit: base + 1,
      livekitTcp: base + 2,
      sip: base + 3,
      livekitUdpStart: base + 10,
      livekitUdpEnd: base + 79,
      rtpStart: base + 80,
      rtpEnd: base + 159,
    },
  });
  const dbName = `vg_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const url = new URL(POSTGRES);
  url.pathname = `/${dbName}`;
  const api = await startApi(
    loadConfig({
      DATABASE_URL: url.toString(),
      GATEWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      GATEWAY_DATA_DIR: dataDir,
      API_PORT: '0',
      LIVEKIT_URL: stack.livekitUrl,
      LIVEKIT_API_KEY: keys.apiKey,
      LIVEKIT_API_SECRET: keys.apiSecret,
      RECONCILE_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'silent',
    }),
  );
  const adminKey = (await createApiKey(api.database.db, 'bench', 'admin')).key;
  return {
    stack,
    api,
    adminKey,
    async close() {
      await api.close();
      await stack.stop();
      const c = new pg.Client({ connectionString: POSTGRES });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    },
  };
}
