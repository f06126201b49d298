import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { freePortBlock, freeTcpPort } from '../scripts/stack/ports.js';
import { startProcess, waitUntil, type ManagedProcess } from '../scripts/stack/processes.js';
import { packageRoot } from '../src/config/paths.js';
import { createTestDatabase, edgeEnv } from './helpers/gateway.js';
import { startSmsProvider, type SmsProvider } from './helpers/sms-provider.js';
import { eventually } from './helpers/wait.js';

// The SMS queue survives the API: 50 texts queued by a process killed with SIGKILL are all sent,
// once each, by the next process on the same database (docs/sms.md).

const stack = inject('stack');
let api: ManagedProcess | undefined;
let edge: EdgeProcess | undefined;
let provider: SmsProvider | undefined;

afterAll(async () => {
  await api?.stop();
  await edge?.stop();
  provider?.close();
});

describe('the SMS queue across an API crash', () => {
  it('sends all 50 texts queued before a SIGKILL once each after the restart', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-sms-crash-'));
    const port = await freeTcpPort();
    const smsPort = await freePortBlock(1);
    edge = await startEdge({
      livekitHost: stack.sipHost,
      livekitPort: stack.sipPort,
      smsTarget: `127.0.0.1:${smsPort}`,
    });
    provider = await startSmsProvider();
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATABASE_URL: database.url,
      GATEWAY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      GATEWAY_DATA_DIR: dataDir,
      API_PORT: String(port),
      INTERNAL_PORT: '0',
      LIVEKIT_URL: stack.livekitUrl,
      LIVEKIT_API_KEY: stack.apiKey,
      LIVEKIT_API_SECRET: stack.apiSecret,
      RECONCILE_INTERVAL_SECONDS: '0',
      CALLS_RECONCILE_INTERVAL_SECONDS: '0',
      ...edgeEnv(edge),
      SMS_SIP_PORT: String(smsPort),
      LOG_LEVEL: 'warn',
    };
    const start = async (withQueue: boolean) => {
      // Without Redis the first process stores and queues but sends nothing: every text is
      // still queued when it dies.
      const proc = startProcess(
        'api-sms-crash',
        process.execPath,
        ['--import', 'tsx', 'src/http/main.ts'],
        {
          logDir: dataDir,
          cwd: packageRoot(),
          env: { ...env, REDIS_URL: withQueue ? `redis://${stack.redisAddress}` : undefined },
        },
      );
      // Held at once, so afterAll stops it even if it never gets ready.
      api = proc;
      // Generous: tsx compiling the API on a loaded 2-core machine has taken 20 s.
      await waitUntil('api', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, {
        timeoutMs: 90_000,
        exited: proc.exited,
      });
      return proc;
    };
    api = await start(false);
    const url = `http://127.0.0.1:${port}`;
    const { createApiKey } = await import('../src/apikeys/keys.js');
    const { createDb } = await import('../src/db/index.js');
    const db = createDb(database.url, 1);
    const key = (await createApiKey(db, 'sms-crash', 'admin')).key;
    const post = (p: string, body: unknown) =>
      fetch(`${url}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const trunk = await post('/api/trunks', {
      name: 'sms_crash',
      trunk_id: 'sms_crash',
      provider: 'generic',
      numbers: ['+15557774001'],
      allowed_addresses: ['127.0.0.1'],
      supports_outbound: true,
      proxy_address: '127.0.0.1',
      proxy_port: provider.port,
    });
    expect(trunk.status, await trunk.clone().text()).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await post('/api/sms/send', {
        from_number: '+15557774001',
        to_number: `+1555777${String(5000 + i)}`,
        message: `queued text ${i}`,
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    api.child.kill('SIGKILL');
    await api.exited;
    expect(provider.received).toHaveLength(0);

    api = await start(true);
    const all = await eventually(async () => {
      const sent = await db
        .selectFrom('smsMessages')
        .select('id')
        .where('status', '=', 'sent')
        .execute();
      return sent.length === 50 ? sent : undefined;
    }, 30_000);
    expect(all, `sent: ${provider.received.length}`).toHaveLength(50);
    // Once each: 50 MESSAGEs, 50 Call-IDs, every text.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(provider.received).toHaveLength(50);
    expect(new Set(provider.received.map((m) => m.callId)).size).toBe(50);
    expect(new Set(provider.received.map((m) => m.body)).size).toBe(50);
    expect(provider.received.map((m) => m.callId.split('@')[0]).sort()).toEqual([...ids].sort());
    await db.destroy();
    await api.stop();
    api = undefined;
    await database.drop();
  }, 300_000);
});
