import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '../src/apikeys/keys.js';
import { packageRoot } from '../src/config/paths.js';
import { createDb, migrate } from '../src/db/index.js';
import { startLocalStack, type LocalStack } from '../scripts/stack/local-stack.js';
import { freePortBlock, freeTcpPort, stackPortsFrom } from '../scripts/stack/ports.js';
import { startProcess, waitUntil, type ManagedProcess } from '../scripts/stack/processes.js';
import { startCoturn, type Coturn } from '../scripts/stack/coturn.js';
import { createTestDatabase } from '../test/helpers/database.js';
import { PROVIDER_POLICY } from '../test/helpers/pipeline-providers.js';

export interface BenchEnv {
  stack: LocalStack;
  coturn: Coturn;
  apiUrl: string;
  /** The API's internal listener (/internal/agent/*, /metrics). */
  internalUrl: string;
  databaseUrl: string;
  dataDir: string;
  adminKey: string;
  /** The API process's environment: a second API (bench/rate-limits.ts) starts from it. */
  apiEnv: Record<string, string>;
  close(): Promise<void>;
}

/**
 * The real stack on free loopback ports, and the API as its own process (as deployed) on a
 * fresh PostgreSQL database.
 */
export async function startBenchEnv(options: { mediaPorts?: number } = {}): Promise<BenchEnv> {
  // The agent capacity bench needs more media ports than the default layout's 70 and 80.
  const media = options.mediaPorts;
  const base = await freePortBlock(media ? 10 + 2 * media : 160);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-bench-'));
  const keys = {
    apiKey: `APIbench${randomBytes(3).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  // LiveKit's webhooks reach the API, as deployed: call records, and agents sent to calls whose
  // host died (bench/agent-failover.ts).
  const apiPort = await freeTcpPort();
  const stack = await startLocalStack({
    root: packageRoot(),
    dataDir,
    keys,
    webhookUrls: [`http://127.0.0.1:${apiPort}/webhooks/livekit`],
    ports: media
      ? {
          ...stackPortsFrom(base),
          livekitUdpEnd: base + 10 + media - 1,
          rtpStart: base + 10 + media,
          rtpEnd: base + 10 + 2 * media - 1,
        }
      : stackPortsFrom(base),
  });
  const database = await createTestDatabase('vg_bench');
  const url = new URL(database.url);
  await migrate(url.toString());
  const db = createDb(url.toString(), 1);
  const adminKey = (await createApiKey(db, 'bench', 'admin')).key;
  await db.destroy();

  const turnSecret = randomBytes(24).toString('base64url');
  const coturn = await startCoturn(turnSecret);
  const apiEnv = {
    DATABASE_URL: url.toString(),
    GATEWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    GATEWAY_DATA_DIR: dataDir,
    LIVEKIT_URL: stack.livekitUrl,
    LIVEKIT_API_KEY: keys.apiKey,
    LIVEKIT_API_SECRET: keys.apiSecret,
    RECONCILE_INTERVAL_SECONDS: '0',
    TURN_SECRET: turnSecret,
    TURN_PORT: String(coturn.port),
    LOG_LEVEL: 'warn',
    // The agent the API sends to a call whose host died: the agent benches' call hosts.
    AGENT_NAME: 'bench-agent',
    // Profiles may name the stand-in providers on loopback (the pipeline capacity bench).
    ...PROVIDER_POLICY,
  };
  const {
    process: api,
    url: apiUrl,
    internalUrl,
  } = await startBenchApi('api', dataDir, apiEnv, apiPort);
  return {
    stack,
    coturn,
    apiUrl,
    internalUrl,
    databaseUrl: url.toString(),
    dataDir,
    adminKey,
    apiEnv,
    async close() {
      await api.stop();
      await coturn.stop();
      await stack.stop();
      await database.drop();
    },
  };
}

/** An API process (as deployed) on a free port with `env` over this process's environment. */
export async function startBenchApi(
  name: string,
  dataDir: string,
  env: Record<string, string>,
  apiPort?: number,
): Promise<{ process: ManagedProcess; url: string; internalUrl: string }> {
  const port = apiPort ?? (await freeTcpPort());
  const internalPort = await freeTcpPort();
  const api = startProcess(
    name,
    process.execPath,
    [
      ...(process.env.BENCH_API_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      'src/http/main.ts',
    ],
    {
      logDir: path.join(dataDir, 'logs'),
      cwd: packageRoot(),
      env: { ...process.env, ...env, API_PORT: String(port), INTERNAL_PORT: String(internalPort) },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  // Slow to start on a busy machine (tsx compiles the API on its first start).
  await waitUntil(`${name} (log: ${api.logFile})`, async () => (await fetch(`${url}/health`)).ok, {
    timeoutMs: 90_000,
    exited: api.exited,
  });
  return { process: api, url, internalUrl: `http://127.0.0.1:${internalPort}` };
}

/** A call to the bench API as its admin; the parsed JSON answer, or a thrown error naming it. */
export async function benchApi(env: BenchEnv, method: string, p: string, body?: unknown) {
  const response = await fetch(`${env.apiUrl}${p}`, {
    method,
    headers: { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${p}: ${response.status} ${text}`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- benches read arbitrary JSON
  return (text ? JSON.parse(text) : undefined) as any;
}
