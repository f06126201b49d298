import type { GatewayConfig } from '../config/index.js';
import { issueTurnCredentials, turnCredentialFor } from '../turn/credentials.js';
import { turnAllocate, type RelayProbe } from '../turn/stun.js';
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
          fix: 'use one secret everywhere: TURN_SECRET for the API, static-auth-secret for coturn, rtc.turn_servers for LiveKit; watch for a trailing newline in secret files',
        },
  );
  return findings;
}

/**
 * Credential lifetimes tried when the first Allocate gets 401: if a longer one is accepted, the
 * secret is right and coturn's clock is ahead of ours by at least the shorter one's lifetime.
 */
const SKEW_LADDER_SECONDS = [600, 3600, 86_400, 7 * 86_400];

/**
 * Fresh credentials from our secret tried in a real Allocate on the configured TURN server, the
 * relay port checked from outside the allocation, and coturn's clock against ours.
 */
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
  const secret = turn.secret;
  const server = `${turn.host}:${turn.port}`;
  const allocate = (ttlSeconds: number, probeRelay = false) => {
    const credentials = issueTurnCredentials(secret, 'diagnostics', ttlSeconds);
    return turnAllocate(turn.host, turn.port, credentials.username, credentials.credential, {
      probeRelay,
    });
  };
  let result;
  try {
    result = await allocate(60, true);
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
  if (result.ok) {
    return [
      pass(
        'turn.allocate',
        `Allocate on ${server} (realm ${result.realm}) gave relay ${result.relayedAddress}`,
      ),
      pass('turn.clock', "credentials valid for 60 s were accepted: coturn's clock is within 60 s"),
      relayFinding(result.relayedAddress ?? '?', result.relay),
    ];
  }
  if (result.status === 401) return [await diagnose401(result.reason, result.realm)];
  return [
    {
      check: 'turn.allocate',
      status: 'fail',
      cause: 'coturn refused the allocation',
      evidence: `${result.status} ${result.reason}`,
      fix: "see coturn's log for the reason (quota, denied peer, relay ports exhausted)",
    },
  ];

  /** 401 for fresh credentials: a different secret, or coturn's clock running ahead. */
  async function diagnose401(reason: string, realm: string | undefined): Promise<Finding> {
    let shorter = 60;
    for (const ttl of SKEW_LADDER_SECONDS) {
      const longer = await allocate(ttl).catch(() => undefined);
      if (longer?.ok) {
        const usable = turn.ttlSeconds > shorter;
        return {
          check: 'turn.clock',
          status: 'fail',
          cause: `coturn's clock is ahead of the API's by ${shorter} s to ${ttl} s: it takes fresh credentials for expired${usable ? ', so browsers get 401 once less than that is left of their TURN_TTL_SECONDS' : ' and refuses every credential the API issues (401)'}`,
          evidence: `Allocate on ${server}: credentials valid ${shorter} s answered 401, valid ${ttl} s accepted (realm ${realm})`,
          fix: 'synchronise the clocks of the API host and the coturn host (NTP, chrony); the secret is right',
        };
      }
      shorter = ttl;
    }
    return {
      check: 'turn.allocate',
      status: 'fail',
      cause:
        "coturn refuses credentials made with the API's secret (401): the two hold different secrets",
      evidence: `Allocate on ${server} answered 401 ${reason} (realm ${realm}), also with credentials valid for ${shorter} s`,
      fix: 'give coturn the exact TURN_SECRET string as static-auth-secret (trimmed, no CR/LF); check `echo -n "$USERNAME" | openssl dgst -sha1 -hmac "$TURN_SECRET" -binary | base64` against a credential',
    };
  }
}

function relayFinding(relayed: string, relay: RelayProbe | undefined): Finding {
  if (relay?.outcome === 'reachable') return pass('turn.relay', relay.detail);
  if (relay?.outcome === 'not_permitted') {
    return {
      check: 'turn.relay',
      status: 'warn',
      cause: "the relay could not be checked: coturn does not allow this host's address as a peer",
      evidence: relay.detail,
      fix: 'expected when denied-peer-ip covers this host; run the check from a host coturn may relay to',
    };
  }
  return {
    check: 'turn.relay',
    status: 'fail',
    cause: `the relay address coturn hands out (${relayed}) does not reach coturn: ICE pairs through TURN send requests and get no responses`,
    evidence: relay?.detail ?? 'no relay address in the answer',
    fix: 'set external-ip to the public address whose UDP min-port..max-port is forwarded to coturn; open that range on every firewall; when LiveKit and coturn share a host, add the hairpin DNAT (scripts/turn-hairpin-iptables.sh, docs/deploy.md)',
  };
}
