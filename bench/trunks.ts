import { SipClient } from 'livekit-server-sdk';
import type { BenchEnv } from './setup.js';

export interface Timing {
  create: number;
  list: number;
  delete: number;
}

const number = (i: number) => `+1555${String(2000000 + i).padStart(7, '0')}`;
const address = (i: number) => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;

async function timed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Create, list and delete `count` inbound trunks straight through the SDK's SipClient. */
export async function throughSipClient(env: BenchEnv, count: number): Promise<Timing> {
  const { apiKey, apiSecret } = env.stack.keys;
  const sip = new SipClient(env.stack.livekitUrl, apiKey, apiSecret);
  const ids: string[] = [];
  const create = await timed(async () => {
    for (let i = 0; i < count; i += 1) {
      const trunk = await sip.createSipInboundTrunk(`direct ${i}`, [number(i)], {
        allowedAddresses: [address(i)],
      });
      ids.push(trunk.sipTrunkId);
    }
  });
  let listed = 0;
  const list = await timed(async () => {
    listed = (await sip.listSipInboundTrunk()).length;
  });
  if (listed !== count) throw new Error(`SipClient listed ${listed} trunks, expected ${count}`);
  const remove = await timed(async () => {
    for (const id of ids) await sip.deleteSipTrunk(id);
  });
  return { create, list, delete: remove };
}

/** The same through our API: validation, database, audit log, LiveKit, sync state. */
export async function throughApi(env: BenchEnv, count: number): Promise<Timing> {
  const headers = { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${env.apiUrl}${path}`, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204
      ? undefined
      : ((await response.json()) as Record<string, unknown>);
  };
  const ids: string[] = [];
  const create = await timed(async () => {
    for (let i = 0; i < count; i += 1) {
      const trunk = await call('POST', '/api/trunks', {
        name: `api ${i}`,
        provider: 'generic',
        numbers: [number(i)],
        allowed_addresses: [address(i)],
      });
      ids.push(trunk!.id as string);
    }
  });
  let listed = 0;
  const list = await timed(async () => {
    for (let page = 1; ; page += 1) {
      const body = (await call('GET', `/api/trunks?per_page=100&page=${page}`)) as {
        items: unknown[];
        total_pages: number;
      };
      listed += body.items.length;
      if (page >= body.total_pages) break;
    }
  });
  if (listed !== count) throw new Error(`API listed ${listed} trunks, expected ${count}`);
  const remove = await timed(async () => {
    for (const id of ids) await call('DELETE', `/api/trunks/${id}`);
  });
  return { create, list, delete: remove };
}
