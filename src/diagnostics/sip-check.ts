import { urlHost } from '../kernel/url-host.js';
import type { SipClient } from 'livekit-server-sdk';
import { sipOptions } from '../livekit/index.js';
import { pass, type Finding } from './finding.js';
import { loadYaml, type YamlMap } from './livekit-configs.js';
import { redisCommand } from './redis-probe.js';

export interface SipCheckDeps {
  sipConfigPath: string;
  sip: SipClient;
  /** Where LiveKit SIP listens (host as the gateway reaches it). */
  sipHost: string;
  sipPort: number;
}

/**
 * The path an INVITE takes: LiveKit SIP answers SIP, reaches Redis, and a livekit-server
 * answers its request there; each link that is broken is named.
 */
export async function checkSip(deps: SipCheckDeps): Promise<Finding[]> {
  const findings: Finding[] = [];
  const sipConfig = loadYaml(deps.sipConfigPath);
  const redis = ((sipConfig.doc?.redis ?? {}) as YamlMap).address;

  try {
    const answer = await sipOptions(deps.sipHost, deps.sipPort, { timeoutMs: 1500 });
    findings.push(
      pass(
        'sip.options',
        `LiveKit SIP at ${deps.sipHost}:${deps.sipPort} answered OPTIONS ${answer.status} in ${answer.rttMs} ms`,
      ),
    );
  } catch (error) {
    findings.push({
      check: 'sip.options',
      status: 'fail',
      cause: 'LiveKit SIP does not answer SIP on its address: calls cannot reach it',
      evidence: error instanceof Error ? error.message : String(error),
      fix: 'start livekit-sip, check sip_port and listen_ip, and that UDP/TCP 5060 is open',
    });
  }

  findings.push(await checkHealthPort(deps.sipHost, sipConfig.doc?.health_port));

  if (typeof redis === 'string' && redis) {
    try {
      const pong = await redisCommand(redis, ['PING']);
      const nodes = Number((await redisCommand(redis, ['HLEN', 'nodes'])).replace(/^:/, ''));
      findings.push(pass('sip.redis', `LiveKit SIP's Redis ${redis} answered ${pong}`));
      if (nodes === 0) {
        findings.push({
          check: 'sip.redis_servers',
          status: 'fail',
          cause:
            'no livekit-server is registered in the Redis LiveKit SIP uses: its requests get "no response from servers" and every call is rejected with "auth check failed"',
          evidence: `Redis ${redis}: 0 entries in "nodes" (where livekit-server registers itself)`,
          fix: 'point livekit-server and livekit-sip at the same Redis (address and db); a server without Redis never registers',
        });
      } else
        findings.push(
          pass('sip.redis_servers', `${nodes} livekit-server node(s) registered in ${redis}`),
        );
    } catch (error) {
      findings.push({
        check: 'sip.redis',
        status: 'fail',
        cause: "LiveKit SIP's Redis cannot be reached",
        evidence: error instanceof Error ? error.message : String(error),
        fix: "start Redis or fix redis.address in livekit-sip.yaml (and livekit-server's, which must match)",
      });
    }
  } else if (sipConfig.error) {
    findings.push({
      check: 'sip.redis',
      status: 'warn',
      cause: "LiveKit SIP's config cannot be read, so its Redis is unknown",
      evidence: sipConfig.error,
      fix: 'set LIVEKIT_SIP_CONFIG_FILE',
    });
  }

  try {
    await deps.sip.listSipInboundTrunk();
    findings.push(pass('sip.server_api', 'livekit-server answers SIP API requests'));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    findings.push(
      /redis required|not connected/i.test(message)
        ? {
            check: 'sip.server_api',
            status: 'fail',
            cause:
              'livekit-server runs without Redis, so it has no SIP service: LiveKit SIP can reach no server',
            evidence: message,
            fix: 'give livekit-server a redis section (the same Redis as livekit-sip) and restart it',
          }
        : {
            check: 'sip.server_api',
            status: 'fail',
            cause: "livekit-server's API does not answer",
            evidence: message,
            fix: 'check LIVEKIT_URL, the API key pair, and that livekit-server runs',
          },
    );
  }
  return findings;
}

/**
 * LiveKit SIP's own health endpoint (`health_port`): 200 OK, 429 when its CPU is above
 * `max_cpu_utilization` (it then refuses outbound calls), 503 before start and after stop.
 */
async function checkHealthPort(host: string, port: unknown): Promise<Finding> {
  if (typeof port !== 'number' || port <= 0) {
    return pass(
      'sip.health',
      'no health_port in livekit-sip.yaml; set one for your orchestrator to probe LiveKit SIP',
    );
  }
  const url = `http://${urlHost(host)}:${port}/`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
    const body = (await res.text()).trim();
    if (res.ok) return pass('sip.health', `${url} answered ${res.status} ${body}`);
    return {
      check: 'sip.health',
      status: 'fail',
      cause:
        res.status === 429
          ? 'LiveKit SIP reports itself under load (CPU above max_cpu_utilization): it refuses new outbound calls'
          : `LiveKit SIP reports itself unhealthy (${body || res.status}): it is starting or shutting down`,
      evidence: `${url} answered ${res.status} ${body}`,
      fix:
        res.status === 429
          ? 'give LiveKit SIP more CPU or more instances, or raise max_cpu_utilization (default 0.9) if the host has headroom'
          : 'check its log; a process stuck in NotStarted cannot reach livekit-server or Redis',
    };
  } catch (error) {
    return {
      check: 'sip.health',
      status: 'fail',
      cause:
        "LiveKit SIP's health port does not answer: an orchestrator probing it restarts the service",
      evidence: `${url}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`,
      fix: 'check that livekit-sip runs with this config (health_port is read at start) and that the port is open to the prober',
    };
  }
}
