import type { Db } from '../db/index.js';
import { syncTable } from './admission.js';
import type { EdgeRpc } from './rpc.js';

/**
 * The edge relays the gateway's own MESSAGEs only to these (deploy/kamailio/edge.cfg, route
 * RELAY_MESSAGE): "<host>:<port>" of every active outbound trunk's provider, as the request
 * URI names it. Anything else is refused even with the shared secret.
 */
export async function buildSmsDestinations(db: Db): Promise<Map<string, number>> {
  const trunks = await db
    .selectFrom('trunks')
    .select(['proxyAddress', 'proxyPort'])
    .where('status', '=', 'active')
    .where('supportsOutbound', '=', true)
    .where('proxyAddress', 'is not', null)
    .execute();
  const wanted = new Map<string, number>();
  for (const t of trunks) {
    const host = t.proxyAddress!.toLowerCase();
    wanted.set(`${host.includes(':') ? `[${host}]` : host}:${t.proxyPort ?? 5060}`, 1);
  }
  return wanted;
}

export async function syncSmsDestinations(db: Db, rpc: EdgeRpc): Promise<void> {
  await syncTable(rpc, 'smsdest', await buildSmsDestinations(db));
}
