import path from 'node:path';
import { SipClient } from 'livekit-server-sdk';
import type { GatewayConfig } from '../config/index.js';
import { checkInboundRouting } from './calls-check.js';
import { checkConfig } from './config-check.js';
import { checkEdgeDispatch } from './edge-dispatch-check.js';
import { areas, type Area, type Finding } from './finding.js';
import { checkRegistrations } from './registration-check.js';
import { checkSipUsers } from './sip-user-check.js';
import { checkSip } from './sip-check.js';
import { checkTurn, checkTurnPair } from './turn-check.js';
import { checkWebhooks } from './webhooks-check.js';
import { openDatabase, type Db } from '../db/index.js';

export { areas, exitCode, type Area, type Finding } from './finding.js';
export { checkTurnPair } from './turn-check.js';

export function configPaths(config: GatewayConfig) {
  return {
    livekitConfig:
      config.diagnostics.livekitConfigFile ?? path.join(config.dataDir, 'stack', 'livekit.yaml'),
    sipConfig:
      config.diagnostics.sipConfigFile ?? path.join(config.dataDir, 'stack', 'livekit-sip.yaml'),
  };
}

/** Runs one area's checks, or all of them; each finding names its check. */
export interface DiagnoseOptions {
  /** A TURN username/credential pair someone has, to check against the secret. */
  turnPair?: { username: string; credential: string };
  /** registration: one SIP user to diagnose (else every user with a problem). */
  sipUser?: string;
}

export async function diagnose(
  config: GatewayConfig,
  area: Area | 'all',
  db?: Db,
  options: DiagnoseOptions = {},
): Promise<Finding[]> {
  const paths = configPaths(config);
  const sip = () =>
    new SipClient(config.livekit.url, config.livekit.apiKey, config.livekit.apiSecret, {
      requestTimeout: Math.ceil(config.livekit.timeoutMs / 1000),
    });
  const run: Record<Area, () => Promise<Finding[]>> = {
    config: async () => checkConfig(paths, config),
    sip: async () => [
      ...(await checkSip({
        sipConfigPath: paths.sipConfig,
        sip: sip(),
        sipHost: config.sipPublic.host,
        sipPort: config.sipPublic.port,
      })),
      // With the edge: the LiveKit SIP instances behind it that answer its probes.
      ...(await checkEdgeDispatch(config)),
    ],
    calls: () => checkInboundRouting(sip()),
    turn: async () => [
      ...(options.turnPair && config.turn.secret
        ? checkTurnPair(config.turn.secret, options.turnPair.username, options.turnPair.credential)
        : []),
      ...(await checkTurn(config.turn)),
    ],
    registration: () =>
      withDb(config, db, async (d) => [
        ...(options.sipUser ? [] : await checkRegistrations(config, d)),
        ...(await checkSipUsers(config, d, options.sipUser)),
      ]),
    webhooks: () =>
      withDb(config, db, (d) => checkWebhooks(d, paths.livekitConfig, config.livekit.apiKey)),
  };
  const selected = area === 'all' ? [...areas] : [area];
  const findings: Finding[] = [];
  for (const a of selected) findings.push(...(await run[a]()));
  return findings;
}

/** Uses the API's database, or opens one for the CLI. */
async function withDb<T>(
  config: GatewayConfig,
  db: Db | undefined,
  work: (db: Db) => Promise<T>,
): Promise<T> {
  if (db) return work(db);
  const opened = await openDatabase(config);
  try {
    return await work(opened.db);
  } finally {
    await opened.close();
  }
}

/** The findings as a table for a terminal. */
export function renderTable(findings: Finding[]): string {
  const mark = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;
  return findings
    .map((f) =>
      f.status === 'pass'
        ? `${mark.pass}  ${f.check.padEnd(22)} ${f.evidence}`
        : [
            `${mark[f.status]}  ${f.check.padEnd(22)} ${f.cause}`,
            `      evidence: ${f.evidence}`,
            `      fix:      ${f.fix}`,
          ].join('\n'),
    )
    .join('\n');
}
