import path from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { startProcess, waitUntil } from '../scripts/stack/processes.js';
import { livekitEventBody, livekitSignature } from '../test/helpers/livekit-webhook.js';
import type { BenchEnv } from './setup.js';

interface Signed {
  body: string;
  authorization: string;
}

/** Sends every request with `concurrency` in flight; returns requests per second. */
async function drive(url: string, requests: Signed[], concurrency: number): Promise<number> {
  let next = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/webhook+json',
            authorization: request.authorization,
          },
          body: request.body,
        });
        await response.arrayBuffer();
        if (!response.ok) failures += 1;
      }
    }),
  );
  if (failures > 0) throw new Error(`${failures} of ${requests.length} requests to ${url} failed`);
  return requests.length / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * LiveKit webhook ingest (verify the JWT, dedupe on the event id, store, apply) against a bare
 * Express handler that only parses the same JSON; both in their own process, same load.
 */
export async function webhookIngest(env: BenchEnv, count: number, concurrency: number) {
  const { apiKey, apiSecret } = env.stack.keys;
  const sign = async (body: string): Promise<Signed> => ({
    body,
    authorization: await livekitSignature(body, apiKey, apiSecret),
  });
  const requests: Signed[] = [];
  const joins: Signed[] = [];
  for (let i = 0; i < count; i += 1) {
    requests.push(
      await sign(
        livekitEventBody('room_started', { room: { name: `bench-room-${i}`, sid: `RM_${i}` } }),
      ),
    );
    // A caller joining: stored and applied (a call record and its first event) in one transaction.
    joins.push(
      await sign(
        livekitEventBody('participant_joined', {
          room: { name: `bench-call-${i}`, sid: `RM_c${i}` },
          participant: { sid: `PA_${i}`, identity: `web-${i}`, kind: 'STANDARD' },
        }),
      ),
    );
  }
  const port = await freeTcpPort();
  const bare = startProcess('bare', process.execPath, ['--import', 'tsx', 'bench/bare-server.ts'], {
    logDir: path.join(env.dataDir, 'logs'),
    cwd: packageRoot(),
    env: { ...process.env, PORT: String(port) },
  });
  try {
    const bareUrl = `http://127.0.0.1:${port}/hook`;
    await waitUntil(
      'bare server',
      async () => (await fetch(bareUrl, { method: 'POST', body: '{}' })).ok,
      {
        timeoutMs: 15_000,
        exited: bare.exited,
      },
    );
    const warm = requests.slice(0, 100);
    await drive(bareUrl, warm, concurrency);
    await drive(`${env.apiUrl}/webhooks/livekit`, warm, concurrency);
    const bareRate = await drive(bareUrl, requests, concurrency);
    const oursRate = await drive(`${env.apiUrl}/webhooks/livekit`, requests, concurrency);
    const joinRate = await drive(`${env.apiUrl}/webhooks/livekit`, joins, concurrency);
    return { bareRate, oursRate, joinRate };
  } finally {
    await bare.stop();
  }
}
