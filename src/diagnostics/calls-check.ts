import type { SipClient } from 'livekit-server-sdk';
import { simulateCall, type SimulatedCall, type Simulation } from './call-simulator.js';
import type { Finding } from './finding.js';

const fixes: Record<Simulation['outcome'], string> = {
  accepted: '',
  digest_required:
    "give the provider the trunk's inbound username/password, or admit it by allowed_addresses instead",
  digest_failed:
    "make the provider's credentials and the trunk's inbound_username/inbound_password the same",
  dropped:
    'scope a dispatch rule to the trunk that takes this number; check the trunk numbers and allowed addresses, and the rule numbers (called) vs inbound_numbers (callers), written exactly as the provider sends them',
  rejected: 'give each trunk numbers or addresses of its own so that one trunk matches',
};

/** Simulates the call against the trunks and rules LiveKit holds now. */
export async function checkCallRoute(
  sip: SipClient,
  call: SimulatedCall,
): Promise<{ finding: Finding; simulation: Simulation }> {
  const [trunks, rules] = await Promise.all([sip.listSipInboundTrunk(), sip.listSipDispatchRule()]);
  const simulation = simulateCall(trunks, rules, call);
  const status =
    simulation.outcome === 'accepted'
      ? 'pass'
      : simulation.outcome === 'digest_required'
        ? 'warn'
        : 'fail';
  return {
    simulation,
    finding: {
      check: 'calls.route',
      status,
      cause: simulation.reason,
      evidence:
        simulation.passedOver.join('; ') ||
        `${trunks.length} trunk(s), ${rules.length} rule(s) in LiveKit`,
      fix: fixes[simulation.outcome],
    },
  };
}
