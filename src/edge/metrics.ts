import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../config/metrics.js';

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
  help: 'Counts kept by the SIP edge since it started: bans, banned_dropped, scanner_dropped, lockouts, locked_refused, unknown_provider, blocked, refused_source, unknown_number, cps_limited, provider_limited, relay_refused, rpc_refused',
  labelNames: ['kind'],
  registers: [metricsRegistry],
});

export const edgeActive = new Gauge({
  name: 'voice_gateway_edge_active',
  help: 'Source addresses banned and SIP users locked at the edge right now',
  labelNames: ['kind'],
  registers: [metricsRegistry],
});

export function setRegistrationState(trunkSlug: string, state: RegistrationState | null): void {
  for (const s of registrationStates) {
    if (state === null) registrationState.remove({ trunk_id: trunkSlug, state: s });
    else registrationState.set({ trunk_id: trunkSlug, state: s }, s === state ? 1 : 0);
  }
}
