import type { SipClient } from 'livekit-server-sdk';
import { simulateCall, type SimulatedCall, type Simulation } from './call-simulator.js';
import { pass, type Finding } from './finding.js';

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

/** Called numbers swept per trunk at most, so a trunk with thousands of DIDs stays quick. */
const NUMBERS_PER_TRUNK = 50;
/** A caller for trunks that admit any: from the documentation range, never a real subscriber. */
const ANY_CALLER = '+15550100000';

/**
 * Without a call to simulate: a call to each number of each inbound trunk, from an address and
 * caller the trunk admits and with its own credentials, must reach a dispatch rule. LiveKit drops
 * an INVITE no rule takes without answering, so the caller hears ringing until the provider
 * gives up.
 */
export async function checkInboundRouting(sip: SipClient): Promise<Finding[]> {
  let trunks, rules;
  try {
    [trunks, rules] = await Promise.all([sip.listSipInboundTrunk(), sip.listSipDispatchRule()]);
  } catch (error) {
    return [
      {
        check: 'calls.trunks',
        status: 'fail',
        cause: "LiveKit's trunks and dispatch rules cannot be read, so routing cannot be checked",
        evidence: error instanceof Error ? error.message : String(error),
        fix: 'see the sip area: livekit-server must run with Redis and answer the API key pair',
      },
    ];
  }
  if (trunks.length === 0) {
    return [
      {
        check: 'calls.trunks',
        status: 'warn',
        cause: 'LiveKit holds no inbound trunk: every INVITE is dropped',
        evidence: `0 inbound trunks, ${rules.length} dispatch rule(s)`,
        fix: 'create a trunk with POST /api/trunks (the gateway keeps LiveKit in step)',
      },
    ];
  }
  return trunks.map((trunk) => {
    const check = `calls.trunk ${trunk.name || trunk.sipTrunkId}`;
    const numbers = trunk.numbers.length ? trunk.numbers.slice(0, NUMBERS_PER_TRUNK) : [ANY_CALLER];
    const failing: string[] = [];
    let last: Simulation | undefined;
    for (const called of numbers) {
      const simulation = simulateCall(trunks, rules, {
        caller: trunk.allowedNumbers[0] ?? ANY_CALLER,
        called,
        sourceIp: admittedAddress(trunk.allowedAddresses),
        username: trunk.authUsername || undefined,
        password: trunk.authPassword || undefined,
      });
      if (simulation.outcome !== 'accepted') {
        failing.push(called);
        last = simulation;
      }
    }
    const sampled = trunk.numbers.length > NUMBERS_PER_TRUNK ? ` (first ${NUMBERS_PER_TRUNK})` : '';
    if (!last) return pass(check, `${numbers.length} number(s)${sampled} reach a dispatch rule`);
    return {
      check,
      status: 'fail',
      cause: `${failing.length} of ${numbers.length} number(s)${sampled} do not get through: ${last.reason}`,
      evidence: [`numbers ${failing.join(', ')}`, ...last.passedOver].join('; '),
      fix: fixes[last.outcome],
    };
  });
}

/** An address inside the trunk's allowed list (its first), or any when it admits all. */
function admittedAddress(allowed: string[]): string {
  const first = allowed[0];
  return first ? first.split('/')[0]! : '192.0.2.1';
}
