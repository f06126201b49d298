import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';

export const registrationStates = ['registering', 'registered', 'failing', 'disabled'] as const;
export type RegistrationState = (typeof registrationStates)[number];

export const registrationState = new Gauge({
  name: 'voice_gateway_trunk_registration_state',
  help: 'Registration state of each registering trunk held by this instance (1 for the current state)',
  labelNames: ['trunk_id', 'state'],
  registers: [metricsRegistry],
});

export const registrationFailures = new Counter({
  name: 'voice_gateway_trunk_registration_failures_total',
  help: 'Failed REGISTER attempts by trunk and final SIP response code (408: no answer)',
  labelNames: ['trunk_id', 'code'],
  registers: [metricsRegistry],
});

export const edgeUp = new Gauge({
  name: 'voice_gateway_edge_up',
  help: '1 when the Kamailio SIP edge answered the last JSON-RPC poll',
  registers: [metricsRegistry],
});

export const edgeEvents = new Gauge({
  name: 'voice_gateway_edge_events',
  help: 'Counts kept by the SIP edge since it started: bans, banned_dropped, scanner_dropped, lockouts, locked_refused, unknown_provider, blocked, refused_source, unknown_number, cps_limited, provider_limited, relay_refused, rpc_refused, codec_refused, livekit_timeouts, livekit_failover, livekit_busy, livekit_unavailable',
  labelNames: ['kind'],
  registers: [metricsRegistry],
});

export const edgeActive = new Gauge({
  name: 'voice_gateway_edge_active',
  help: 'Source addresses banned and SIP users locked at the edge right now',
  labelNames: ['kind'],
  registers: [metricsRegistry],
});

export const edgeReplies = new Gauge({
  name: 'voice_gateway_edge_sip_replies',
  help: 'Replies the SIP edge sent itself since it started (Kamailio sl stats), by code; the classes (1xx-6xx) include the codes Kamailio does not count apart (480, 486...)',
  labelNames: ['code'],
  registers: [metricsRegistry],
});

export const edgeTransactions = new Gauge({
  name: 'voice_gateway_edge_sip_transactions',
  help: 'SIP transactions the edge completed since it started (Kamailio tmx stats), by final reply class, relayed replies included',
  labelNames: ['class'],
  registers: [metricsRegistry],
});

/**
 * Kamailio's `stats.get_statistics` lines ("sl:403_replies = 7") as name and value; lines of
 * another shape are left out.
 */
export function parseKamailioStats(lines: unknown): Map<string, number> {
  const stats = new Map<string, number>();
  if (!Array.isArray(lines)) return stats;
  for (const line of lines) {
    const match = typeof line === 'string' ? /^(\w+):(\w+)\s*=\s*(\d+)$/.exec(line) : null;
    if (match) stats.set(`${match[1]}:${match[2]}`, Number(match[3]));
  }
  return stats;
}

/** Sets the edge reply and transaction gauges from the edge's sl and tmx statistics. */
export function setEdgeSipStats(stats: Map<string, number>): void {
  for (const [name, value] of stats) {
    const reply = /^sl:(\d{3}|\dxx)_replies$/.exec(name);
    if (reply) edgeReplies.set({ code: reply[1]! }, value);
    const transaction = /^tmx:(\dxx)_transactions$/.exec(name);
    if (transaction) edgeTransactions.set({ class: transaction[1]! }, value);
  }
}

export function setRegistrationState(trunkSlug: string, state: RegistrationState | null): void {
  for (const s of registrationStates) {
    if (state === null) registrationState.remove({ trunk_id: trunkSlug, state: s });
    else registrationState.set({ trunk_id: trunkSlug, state: s }, s === state ? 1 : 0);
  }
}
