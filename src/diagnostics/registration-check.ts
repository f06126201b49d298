import type { GatewayConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import { EdgeRpc, explainRegisterResponse } from '../edge/index.js';
import { pass, type Finding } from './finding.js';

/** Seconds after which a registration row nobody refreshed counts as stale. */
const STALE_AFTER_SECONDS = 60;

/**
 * For trunks that register through the SIP edge: the edge answers, and each registration's last
 * response from the registrar, with its meaning and fix.
 */
export async function checkRegistrations(config: GatewayConfig, db: Db): Promise<Finding[]> {
  const trunks = await db
    .selectFrom('trunks')
    .leftJoin('trunkRegistrations as reg', 'reg.trunkId', 'trunks.id')
    .select([
      'trunks.trunkId as slug',
      'trunks.status',
      'trunks.registrar',
      'trunks.proxyAddress',
      'trunks.username',
      'reg.state',
      'reg.lastCode',
      'reg.lastReason',
      'reg.failures',
      'reg.updatedAt',
      'reg.instance',
    ])
    .where('trunks.register', '=', true)
    .orderBy('trunks.trunkId')
    .execute();
  const findings: Finding[] = [];
  if (trunks.length === 0) {
    return [pass('registration', 'no trunk has register=true: nothing to register')];
  }
  if (!config.edge.enabled) {
    findings.push({
      check: 'registration.edge',
      status: 'fail',
      cause: `${trunks.length} trunk(s) ask to be registered but this gateway runs no SIP edge supervisor`,
      evidence: 'EDGE_ENABLED=false',
      fix: 'run Kamailio with deploy/kamailio/edge.cfg and set EDGE_ENABLED=true and EDGE_RPC_URL (docs/edge.md)',
    });
  } else {
    try {
      const version = await new EdgeRpc(
        config.edge.rpcUrl,
        config.edge.rpcSecret,
        2000,
      ).call<string>('core.version');
      findings.push(pass('registration.edge', `${config.edge.rpcUrl} answers (${version})`));
    } catch (error) {
      findings.push({
        check: 'registration.edge',
        status: 'fail',
        cause: 'the SIP edge does not answer: no registration is kept alive',
        evidence: error instanceof Error ? error.message : String(error),
        fix: 'start Kamailio with the rendered edge config and check EDGE_RPC_URL',
      });
    }
  }
  for (const t of trunks) {
    const check = `registration.${t.slug}`;
    const target = `${t.username ?? '?'}@${t.registrar ?? t.proxyAddress ?? '?'}`;
    if (t.status !== 'active') {
      findings.push(pass(check, `${target}: trunk inactive, registration disabled`));
    } else if (!t.state) {
      findings.push({
        check,
        status: 'warn',
        cause: 'no gateway instance has registered this trunk yet',
        evidence: `${target}: no registration state recorded`,
        fix: 'check that a gateway with EDGE_ENABLED=true is running and can reach the database',
      });
    } else if (
      t.updatedAt &&
      Date.now() - t.updatedAt.getTime() > STALE_AFTER_SECONDS * 1000 &&
      t.state !== 'disabled'
    ) {
      findings.push({
        check,
        status: 'warn',
        cause: `the registration state is stale: instance ${t.instance ?? '?'} stopped updating it`,
        evidence: `${target}: last update ${t.updatedAt.toISOString()} (${t.state})`,
        fix: 'check the gateway instance and its SIP edge; another instance takes over once its database session ends',
      });
    } else if (t.state === 'registered') {
      findings.push(
        pass(check, `${target}: registered (${t.lastCode ?? 200} ${t.lastReason ?? 'OK'})`),
      );
    } else if (t.state === 'failing') {
      const meaning = explainRegisterResponse(t.lastCode, t.lastReason);
      findings.push({
        check,
        status: 'fail',
        cause: meaning.cause,
        evidence:
          `${target}: last response ${t.lastCode ?? 'none'} ${t.lastReason ?? ''}, ${t.failures ?? 0} failed attempt(s)`.trim(),
        fix: meaning.fix,
      });
    } else {
      findings.push({
        check,
        status: 'warn',
        cause: `registration in progress (${t.state})`,
        evidence: `${target}: ${t.lastCode ? `last response ${t.lastCode} ${t.lastReason ?? ''}` : 'no response yet'}`,
        fix: 'wait a few seconds; if it stays here, the registrar is not answering',
      });
    }
  }
  return findings;
}
