import type { Db } from '../db/index.js';
import { pass, type Finding } from './finding.js';
import { loadYaml, type YamlMap } from './livekit-configs.js';

/** LiveKit's webhooks reach us signed with a key we hold; customer endpoints are not failing. */
export async function checkWebhooks(
  db: Db,
  livekitConfigPath: string,
  apiKey: string,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const server = loadYaml(livekitConfigPath);
  const webhook = (server.doc?.webhook ?? {}) as YamlMap;
  if (!server.doc) {
    findings.push({
      check: 'webhooks.livekit',
      status: 'warn',
      cause: "livekit-server's config cannot be read",
      evidence: server.error ?? '',
      fix: 'set LIVEKIT_CONFIG_FILE',
    });
  } else if (!webhook.urls) {
    findings.push({
      check: 'webhooks.livekit',
      status: 'warn',
      cause: 'livekit-server sends no webhooks: call records come only from the calls reconcile',
      evidence: `${server.path}: no webhook.urls`,
      fix: 'add webhook: { api_key: <LIVEKIT_API_KEY>, urls: [https://<api>/webhooks/livekit] }',
    });
  } else if (webhook.api_key !== apiKey) {
    findings.push({
      check: 'webhooks.livekit',
      status: 'fail',
      cause:
        'LiveKit signs its webhooks with a key the gateway does not verify with: all are rejected with 401',
      evidence: `webhook.api_key ${JSON.stringify(webhook.api_key)}; LIVEKIT_API_KEY ${apiKey}`,
      fix: "set webhook.api_key to LIVEKIT_API_KEY (and make sure that key's secret matches)",
    });
  } else findings.push(pass('webhooks.livekit', `LiveKit signs webhooks with ${apiKey}`));

  const since = new Date(Date.now() - 24 * 3_600_000);
  const endpoints = await db
    .selectFrom('webhookEndpoints')
    .leftJoin('webhookDeliveries', (join) =>
      join
        .onRef('webhookDeliveries.endpointId', '=', 'webhookEndpoints.id')
        .on('webhookDeliveries.createdAt', '>=', since),
    )
    .select((eb) => [
      'webhookEndpoints.id',
      'webhookEndpoints.url',
      'webhookEndpoints.enabled',
      'webhookEndpoints.disabledReason',
      'webhookEndpoints.failingSince',
      eb.fn
        .count<number>('webhookDeliveries.id')
        .filterWhere('webhookDeliveries.status', 'in', ['failed', 'disabled'])
        .as('failed'),
      eb.fn
        .count<number>('webhookDeliveries.id')
        .filterWhere('webhookDeliveries.status', '=', 'pending')
        .filterWhere('webhookDeliveries.attempts', '>', 0)
        .as('retrying'),
      eb.fn.max('webhookDeliveries.lastError').as('lastError'),
    ])
    .groupBy([
      'webhookEndpoints.id',
      'webhookEndpoints.url',
      'webhookEndpoints.enabled',
      'webhookEndpoints.disabledReason',
      'webhookEndpoints.failingSince',
    ])
    .execute();
  for (const e of endpoints) {
    const check = `webhooks.endpoint ${e.url}`;
    if (!e.enabled) {
      findings.push({
        check,
        status: 'fail',
        cause: 'the endpoint is disabled: it receives nothing',
        evidence: e.disabledReason ?? 'disabled by an admin',
        fix: 'fix the receiver, then PUT /api/webhook-endpoints/<id> {"enabled": true} and replay what it missed',
      });
    } else if (e.failingSince || Number(e.failed) > 0 || Number(e.retrying) > 0) {
      findings.push({
        check,
        status: 'warn',
        cause: 'deliveries to this endpoint are failing',
        evidence: `last 24 h: ${e.failed} failed, ${e.retrying} retrying; failing since ${e.failingSince?.toISOString() ?? '-'}; last error ${e.lastError ?? '-'}`,
        fix: 'see GET /api/webhook-endpoints/<id>/deliveries; the receiver must answer 2xx within 10 s',
      });
    } else findings.push(pass(check, 'no failed deliveries in the last 24 h'));
  }
  return findings;
}
