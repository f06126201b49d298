import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { SipClient, TwirpError } from 'livekit-server-sdk';
import { createApiKey, type Role } from '../../src/apikeys/keys.js';
import { loadConfig } from '../../src/config/index.js';
import { startApi, type RunningApi } from '../../src/http/server.js';
import type { EdgeProcess } from '../../scripts/stack/kamailio.js';
import { createTestDatabase } from './database.js';

export { createTestDatabase };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
type JsonBody = any;

export interface TestGateway {
  api: RunningApi;
  url: string;
  /** The internal listener: /internal/agent/* (what the agent worker calls) and /metrics. */
  internalUrl: string;
  adminKey: string;
  databaseUrl: string;
  dataDir: string;
  encryptionKey: string;
  sip: SipClient;
  keyFor(role: Role): Promise<string>;
  request(
    method: string,
    path: string,
    body?: unknown,
    key?: string | null,
  ): Promise<{
    status: number;
    body: JsonBody;
    headers: Headers;
  }>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  database?: 'postgres' | 'embedded';
  /** Reuse a database (e.g. to start a second process on the same state). */
  databaseUrl?: string;
  dataDir?: string;
  encryptionKey?: string;
  env?: Record<string, string>;
}

/** A real API process-in-test on a free port, its own database, the shared real LiveKit. */
export async function startTestGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const stack = inject('stack');
  const created =
    options.databaseUrl || options.database === 'embedded' ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? created?.url;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'vg-test-data-'));
  const encryptionKey = options.encryptionKey ?? randomBytes(32).toString('base64');
  const config = loadConfig({
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, GATEWAY_ENCRYPTION_KEY: encryptionKey } : {}),
    GATEWAY_DATA_DIR: dataDir,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    INTERNAL_PORT: '0',
    // With EDGE_ENABLED the SMS listener binds too: a free port, so test files never collide.
    SMS_SIP_PORT: '0',
    LIVEKIT_URL: stack.livekitUrl,
    LIVEKIT_API_KEY: stack.apiKey,
    LIVEKIT_API_SECRET: stack.apiSecret,
    SIP_PUBLIC_PORT: String(stack.sipPort),
    RECONCILE_INTERVAL_SECONDS: '0',
    REDIS_URL: `redis://${stack.redisAddress}`,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const api = await startApi(config);
  const db = api.database.db;
  const adminKey = (await createApiKey(db, 'test-admin', 'admin')).key;
  const request: TestGateway['request'] = async (method, p, body, key = adminKey) => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${api.url}${p}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  return {
    api,
    url: api.url,
    internalUrl: api.internalUrl,
    adminKey,
    databaseUrl: api.database.url,
    dataDir,
    encryptionKey,
    sip: new SipClient(stack.livekitUrl, stack.apiKey, stack.apiSecret),
    keyFor: async (role) => (await createApiKey(db, `test-${role}`, role)).key,
    request,
    async close() {
      await api.close();
      await created?.drop();
    },
  };
}

/**
 * Removes every SIP trunk and dispatch rule from the shared LiveKit, so each file starts clean.
 * The gateway just started may be reconciling at the same moment and delete some first; an
 * object already gone is what we want, so "not found" is not an error here.
 */
/** The gateway's settings for the SIP edge `edge`: enabled, its RPC, and its contact address. */
export function edgeEnv(edge: EdgeProcess): Record<string, string> {
  return {
    EDGE_ENABLED: 'true',
    EDGE_RPC_URL: edge.rpcUrl,
    EDGE_RPC_SECRET: edge.settings.rpcSecret,
    EDGE_CONTACT_ADDRESS: `127.0.0.1:${edge.sipPort}`,
  };
}

export async function clearLivekitSip(sip: SipClient): Promise<void> {
  const gone = (error: unknown) => {
    if (!(error instanceof TwirpError && error.status === 404)) throw error;
  };
  for (const rule of await sip.listSipDispatchRule())
    await sip.deleteSipDispatchRule(rule.sipDispatchRuleId).catch(gone);
  for (const t of await sip.listSipInboundTrunk())
    await sip.deleteSipTrunk(t.sipTrunkId).catch(gone);
  for (const t of await sip.listSipOutboundTrunk())
    await sip.deleteSipTrunk(t.sipTrunkId).catch(gone);
}
