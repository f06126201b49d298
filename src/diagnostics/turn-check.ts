import type { GatewayConfig } from '../config/index.js';
import { issueTurnCredentials, turnCredentialFor } from '../turn/credentials.js';
import { turnAllocate } from '../turn/stun.js';
import { pass, type Finding } from './finding.js';

/** A username/credential pair as a browser or an operator has it, checked against our secret. */
export function checkTurnPair(
  secret: string,
  username: string,
  credential: string,
  now = Date.now(),
): Finding[] {
  const findings: Finding[] = [];
  const match = /^(\d+):(.+)$/.exec(username);
  if (!match) {
    return [
      {
        check: 'turn.pair',
        status: 'fail',
        cause: 'the username is not "<expiry>:<user>", so coturn (use-auth-secret) cannot check it',
        evidence: `username ${JSON.stringify(username)}`,
        fix: 'take credentials from GET /api/turn/credentials; do not build the username by hand',
      },
    ];
  }
  const expiry = Number(match[1]) * 1000;
  if (expiry < now) {
    findings.push({
      check: 'turn.pair_expiry',
      status: 'fail',
      cause: 'the credentials have expired: coturn answers 401',
      evidence: `expired ${Math.round((now - expiry) / 1000)} s ago (${new Date(expiry).toISOString()})`,
      fix: 'fetch fresh credentials; if they expire at once, the clocks of the API and coturn differ (use NTP)',
    });
  } else
    findings.push(
      pass('turn.pair_expiry', `valid for ${Math.round((expiry - now) / 1000)} s more`),
    );
  const expected = turnCredentialFor(secret, username);
  findings.push(
    expected === credential
      ? pass(
          'turn.pair_secret',
          "the credential is base64(HMAC-SHA1(secret, username)) with the gateway's TURN_SECRET",
        )
      : {
          check: 'turn.pair_secret',
          status: 'fail',
          cause:
            "the credential was not made with the gateway's TURN secret: the API and whoever made it hold different secrets",
          evidence: 'HMAC-SHA1 over the username does not match (values not shown)',
          fix: 'use one secret everywhere: TURN_SECRET for the API, --static-auth-secret for coturn, rtc.turn_servers for LiveKit; watch for a trailing newline in secret files',
        },
  );
  return findings;
}

/** Fresh credentials from our secret tried in a real Allocate on the configured TURN server. */
export async function checkTurn(turn: GatewayConfig['turn']): Promise<Finding[]> {
  if (!turn.secret) {
    return [
      {
        check: 'turn.secret',
        status: 'warn',
        cause: 'no TURN secret is configured: web users behind strict NATs cannot connect',
        evidence: 'TURN_SECRET and TURN_SECRET_FILE are unset',
        fix: 'run coturn with use-auth-secret and give the API the same secret in TURN_SECRET',
      },
    ];
  }
  const credentials = issueTurnCredentials(turn.secret, 'diagnostics', 60);
  try {
    const result = await turnAllocate(
      turn.host,
      turn.port,
      credentials.username,
      credentials.credential,
    );
    if (result.ok)
      return [
        pass(
          'turn.allocate',
          `Allocate on ${turn.host}:${turn.port} (realm ${result.realm}) gave relay ${result.relayedAddress}`,
        ),
      ];
    if (result.status === 401) {
      return [
        {
          check: 'turn.allocate',
          status: 'fail',
          cause:
            "coturn refuses credentials made with the API's secret (401): the two hold different secrets",
          evidence: `Allocate on ${turn.host}:${turn.port} answered 401 ${result.reason} (realm ${result.realm})`,
          fix: 'give coturn --static-auth-secret the exact TURN_SECRET string (trimmed, no CR/LF); check `echo -n "$USERNAME" | openssl dgst -sha1 -hmac "$TURN_SECRET" -binary | base64` against a credential',
        },
      ];
    }
    return [
      {
        check: 'turn.allocate',
        status: 'fail',
        cause: 'coturn refused the allocation',
        evidence: `${result.status} ${result.reason}`,
        fix: "see coturn's log for the reason (quota, denied peer, relay ports exhausted)",
      },
    ];
  } catch (error) {
    return [
      {
        check: 'turn.allocate',
        status: 'fail',
        cause: 'the TURN server does not answer',
        evidence: error instanceof Error ? error.message : String(error),
        fix: `start coturn and open ${turn.port}/udp and tcp (and the relay range) on ${turn.host}`,
      },
    ];
  }
}
