import type { GatewayConfig } from '../config/index.js';
import { readTurnSecret } from '../turn/credentials.js';
import type { Finding } from './finding.js';
import { pass } from './finding.js';
import { loadYaml, range, redisOf, serverKeys, sipKeys, type YamlMap } from './livekit-configs.js';

export interface ConfigPaths {
  livekitConfig: string;
  sipConfig: string;
}

const fail = (check: string, cause: string, evidence: string, fix: string): Finding => ({
  check,
  status: 'fail',
  cause,
  evidence,
  fix,
});
const warn = (check: string, cause: string, evidence: string, fix: string): Finding => ({
  check,
  status: 'warn',
  cause,
  evidence,
  fix,
});

function keysOf(server: YamlMap): Record<string, string> {
  const keys = server.keys;
  return keys && typeof keys === 'object' ? (keys as Record<string, string>) : {};
}

/**
 * livekit-sip.yaml against the livekit-server config and the gateway's own settings: the
 * mismatches behind "auth check failed ... no response from servers" and their neighbours.
 */
export function checkConfig(
  paths: ConfigPaths,
  gateway: Pick<GatewayConfig, 'livekit' | 'turn'>,
): Finding[] {
  const findings: Finding[] = [];
  const server = loadYaml(paths.livekitConfig);
  const sip = loadYaml(paths.sipConfig);
  for (const loaded of [server, sip]) {
    if (loaded.error) {
      findings.push(
        fail(
          'config.files',
          'a LiveKit config file cannot be read',
          loaded.error,
          'point LIVEKIT_CONFIG_FILE / LIVEKIT_SIP_CONFIG_FILE at the files the services run with',
        ),
      );
    }
  }
  if (!server.doc || !sip.doc) return findings;
  const s = server.doc;
  const p = sip.doc;
  const keys = keysOf(s);

  const sipKey = String(p.api_key ?? '');
  if (!sipKey || keys[sipKey] === undefined) {
    findings.push(
      fail(
        'config.sip_key',
        'LiveKit SIP uses an API key livekit-server does not know',
        `livekit-sip api_key ${JSON.stringify(sipKey)}; livekit-server keys: ${Object.keys(keys).join(', ') || 'none'}`,
        "give livekit-sip an api_key/api_secret pair from livekit-server's keys",
      ),
    );
  } else if (keys[sipKey] !== p.api_secret) {
    findings.push(
      fail(
        'config.sip_key',
        "LiveKit SIP's api_secret differs from livekit-server's secret for that key",
        `key ${sipKey}: secrets differ (not shown)`,
        "copy the secret from livekit-server's keys into livekit-sip's api_secret",
      ),
    );
  } else
    findings.push(
      pass('config.sip_key', `livekit-sip key ${sipKey} is one of livekit-server's keys`),
    );

  if (keys[gateway.livekit.apiKey] !== gateway.livekit.apiSecret) {
    findings.push(
      fail(
        'config.gateway_key',
        "the gateway's LIVEKIT_API_KEY/SECRET is not a key pair of livekit-server",
        `LIVEKIT_API_KEY=${gateway.livekit.apiKey}`,
        "set LIVEKIT_API_KEY and LIVEKIT_API_SECRET to one of livekit-server's keys",
      ),
    );
  } else
    findings.push(
      pass(
        'config.gateway_key',
        `LIVEKIT_API_KEY ${gateway.livekit.apiKey} is a livekit-server key`,
      ),
    );

  const serverRedis = redisOf(s);
  const sipRedis = redisOf(p);
  if (!serverRedis) {
    findings.push(
      fail(
        'config.redis',
        'livekit-server runs without Redis, so no SIP request can reach it',
        `${server.path}: no redis.address`,
        'give livekit-server the same redis section as livekit-sip; its SIP API answers "sip not connected (redis required)" without one',
      ),
    );
  } else if (serverRedis !== sipRedis) {
    findings.push(
      fail(
        'config.redis',
        'livekit-server and LiveKit SIP use different Redis servers or databases: LiveKit SIP\'s requests get "no response from servers" and every call is rejected with "auth check failed"',
        `livekit-server redis ${serverRedis}; livekit-sip redis ${sipRedis || 'none'}`,
        'use one Redis (same address and db) in both configs; raising retries or webhook timeouts does not help',
      ),
    );
  } else findings.push(pass('config.redis', `both use Redis ${serverRedis}`));

  const wsUrl = String(p.ws_url ?? '');
  if (/\.livekit\.cloud/i.test(wsUrl)) {
    findings.push(
      fail(
        'config.ws_url',
        'self-hosted LiveKit SIP points at LiveKit Cloud: it takes calls for a project whose rooms live elsewhere, and its Redis requests reach no server',
        `ws_url ${wsUrl}`,
        "set ws_url to your own livekit-server (ws://host:7880), or use LiveKit Cloud's SIP instead of running livekit-sip",
      ),
    );
  } else if (!/^wss?:\/\//.test(wsUrl)) {
    findings.push(
      fail(
        'config.ws_url',
        'LiveKit SIP has no usable ws_url',
        `ws_url ${JSON.stringify(wsUrl)}`,
        'set ws_url to ws://<livekit-server>:7880',
      ),
    );
  } else findings.push(pass('config.ws_url', `ws_url ${wsUrl}`));

  const ignoredSip = Object.keys(p).filter((k) => !sipKeys.has(k));
  if (ignoredSip.length > 0) {
    findings.push(
      warn(
        'config.ignored_keys',
        'LiveKit SIP silently ignores keys it does not know',
        `${sip.path}: ${ignoredSip.join(', ')}`,
        ignoredSip.includes('log_level')
          ? 'LiveKit SIP reads logging.level, not log_level; fix or remove the others'
          : 'remove them or fix their spelling',
      ),
    );
  }
  const ignoredServer = Object.keys(s).filter((k) => !serverKeys.has(k));
  if (ignoredServer.length > 0) {
    findings.push(
      warn(
        'config.ignored_keys',
        'livekit-server silently ignores keys it does not know',
        `${server.path}: ${ignoredServer.join(', ')}`,
        'remove them or fix their spelling',
      ),
    );
  }

  const rtc = (s.rtc ?? {}) as YamlMap;
  const media =
    typeof rtc.port_range_start === 'number' && typeof rtc.port_range_end === 'number'
      ? ([rtc.port_range_start, rtc.port_range_end] as [number, number])
      : undefined;
  const rtp = range(p.rtp_port);
  if (media && rtp && media[0] <= rtp[1] && rtp[0] <= media[1]) {
    findings.push(
      fail(
        'config.port_ranges',
        "LiveKit SIP's RTP ports overlap livekit-server's WebRTC ports: whichever starts second cannot bind some of them and calls lose media",
        `rtc ${media[0]}-${media[1]}, rtp_port ${rtp[0]}-${rtp[1]}`,
        'give them disjoint ranges (e.g. rtp_port 10000-20000, rtc 50000-60000)',
      ),
    );
  } else if (media && rtp)
    findings.push(
      pass(
        'config.port_ranges',
        `rtc ${media[0]}-${media[1]} and rtp_port ${rtp[0]}-${rtp[1]} are disjoint`,
      ),
    );

  if (p.use_external_ip === true && p.nat_1_to_1_ip) {
    findings.push(
      warn(
        'config.nat',
        'LiveKit SIP has both use_external_ip and nat_1_to_1_ip: the STUN-discovered address wins and the configured one is ignored',
        `use_external_ip: true, nat_1_to_1_ip: ${String(p.nat_1_to_1_ip)}`,
        'keep one: nat_1_to_1_ip for a known public address, use_external_ip to discover it',
      ),
    );
  }

  const webhook = (s.webhook ?? {}) as YamlMap;
  if (webhook.urls) {
    const key = String(webhook.api_key ?? '');
    if (keys[key] === undefined) {
      findings.push(
        fail(
          'config.webhook_key',
          "livekit-server's webhook api_key is not among its keys, so it cannot sign webhooks",
          `webhook.api_key ${JSON.stringify(key)}`,
          "set webhook.api_key to one of livekit-server's keys",
        ),
      );
    } else if (key !== gateway.livekit.apiKey) {
      findings.push(
        fail(
          'config.webhook_key',
          'LiveKit signs webhooks with a key the gateway does not verify with: every webhook is rejected (401)',
          `webhook.api_key ${key}; LIVEKIT_API_KEY ${gateway.livekit.apiKey}`,
          "sign webhooks with the gateway's key (webhook.api_key = LIVEKIT_API_KEY)",
        ),
      );
    } else findings.push(pass('config.webhook_key', `webhooks are signed with ${key}`));
  }
  findings.push(...checkTurnServers(s, gateway.turn.secret));
  return findings;
}

/**
 * livekit-server's rtc.turn_servers (what it hands to clients that use its SDKs directly) must
 * carry the secret coturn and the API hold; one that differs gets its clients 401 from coturn.
 */
function checkTurnServers(server: YamlMap, turnSecret: string | undefined): Finding[] {
  const rtc = (server.rtc ?? {}) as YamlMap;
  const entries = (Array.isArray(rtc.turn_servers) ? rtc.turn_servers : []) as YamlMap[];
  const shared = entries.filter((e) => e.secret !== undefined || e.secret_file !== undefined);
  if (shared.length === 0 || !turnSecret) return [];
  const differing: string[] = [];
  for (const [i, entry] of shared.entries()) {
    const where = `rtc.turn_servers[${i}] (${String(entry.host)}:${String(entry.port)}/${String(entry.protocol ?? 'udp')})`;
    let secret: string | undefined;
    try {
      secret = readTurnSecret(
        typeof entry.secret === 'string' ? entry.secret : undefined,
        typeof entry.secret_file === 'string' ? entry.secret_file : undefined,
      );
    } catch (error) {
      differing.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (secret !== turnSecret) differing.push(`${where}: the secret differs from TURN_SECRET`);
  }
  if (differing.length === 0) {
    return [
      pass('config.turn_secret', `${shared.length} rtc.turn_servers entries use TURN_SECRET`),
    ];
  }
  return [
    fail(
      'config.turn_secret',
      "livekit-server hands its clients TURN credentials made with another secret than the API's: whichever of the two coturn does not hold gets 401 from it",
      `${differing.join('; ')} (values not shown)`,
      "use one secret everywhere: rtc.turn_servers[].secret (or secret_file), coturn's static-auth-secret and TURN_SECRET, with no trailing newline",
    ),
  ];
}
