import type { SIPDispatchRuleInfo, SIPInboundTrunkInfo } from '@livekit/protocol';
import ipaddr from 'ipaddr.js';

/**
 * What LiveKit (livekit-server v1.13 with livekit/protocol's sip package) decides for an inbound
 * INVITE, step by step, with the reason each trunk and rule was passed over.
 */
export interface SimulatedCall {
  caller: string;
  called: string;
  sourceIp: string;
  /** Host part of the From URI (LiveKit also accepts it against allowed addresses). */
  fromHost?: string;
  username?: string;
  password?: string;
}

export type Outcome = 'accepted' | 'digest_required' | 'digest_failed' | 'dropped' | 'rejected';

export interface Simulation {
  outcome: Outcome;
  /** One sentence saying what happens to the call and why. */
  reason: string;
  trunk?: { id: string; name: string; default: boolean };
  rule?: { id: string; name: string };
  room?: string;
  agents: string[];
  /** Why each trunk and rule was not the one. */
  passedOver: string[];
}

/** LiveKit's NormalizeNumber: no spaces, dashes or brackets, and a leading '+'. */
export function normalizeNumber(num: string): string {
  const clean = num.replace(/[\s\-()]/g, '');
  return clean === '' || clean.startsWith('+') ? clean : `+${clean}`;
}

function numbersMatch(num: string, allowed: string[]): boolean {
  return (
    allowed.length === 0 ||
    allowed.some((a) => a === num || normalizeNumber(a) === normalizeNumber(num))
  );
}

function addressMatches(ip: string, host: string | undefined, masks: string[]): boolean {
  if (!ipaddr.isValid(ip)) return true;
  const valid = masks.filter((m) => !/[()+*;, \t\n\r]/.test(m) && !m.includes('://'));
  if (valid.length === 0) return true;
  const addr = ipaddr.parse(ip);
  return valid.some((mask) => {
    if (mask === host) return true;
    try {
      if (!mask.includes('/')) return ipaddr.parse(mask).toString() === addr.toString();
      const [range, bits] = ipaddr.parseCIDR(mask);
      return addr.kind() === range.kind() && addr.match(range, bits);
    } catch {
      return false;
    }
  });
}

function label(t: { name: string; sipTrunkId?: string; sipDispatchRuleId?: string }) {
  return `${t.name || '(unnamed)'} ${t.sipTrunkId ?? t.sipDispatchRuleId ?? ''}`.trim();
}

/** DispatchRulePriority: PIN rules first, then direct/individual/callee, then specific numbers. */
function priority(rule: SIPDispatchRuleInfo): number {
  const body = rule.rule?.rule;
  if (!body?.case) return Number.MAX_SAFE_INTEGER;
  const base =
    { dispatchRuleDirect: 0, dispatchRuleIndividual: 1, dispatchRuleCallee: 2 }[
      body.case as string
    ] ?? 1e6;
  let p = (body.value as { pin?: string }).pin ? base : base + 100;
  if (rule.inboundNumbers.length === 0) p += 1000;
  if (rule.numbers.length === 0) p += 1000;
  return p;
}

function roomOf(rule: SIPDispatchRuleInfo, call: SimulatedCall): string {
  const body = rule.rule?.rule;
  if (body?.case === 'dispatchRuleDirect') return body.value.roomName;
  if (body?.case === 'dispatchRuleIndividual')
    return `${body.value.roomPrefix}_${call.caller}_<random>`;
  if (body?.case === 'dispatchRuleCallee')
    return `${body.value.roomPrefix}${call.called}${body.value.randomize ? '_<random>' : ''}`;
  return '(unknown rule type)';
}

export function simulateCall(
  trunks: SIPInboundTrunkInfo[],
  rules: SIPDispatchRuleInfo[],
  call: SimulatedCall,
): Simulation {
  const passedOver: string[] = [];
  let specific: SIPInboundTrunkInfo | undefined;
  const defaults: SIPInboundTrunkInfo[] = [];
  for (const t of trunks) {
    if (!numbersMatch(call.caller, t.allowedNumbers)) {
      passedOver.push(`trunk ${label(t)}: caller ${call.caller} is not in its allowed_numbers`);
      continue;
    }
    if (!addressMatches(call.sourceIp, call.fromHost, t.allowedAddresses)) {
      passedOver.push(
        `trunk ${label(t)}: source ${call.sourceIp} is not in its allowed_addresses (${t.allowedAddresses.join(', ')})`,
      );
      continue;
    }
    if (t.numbers.length === 0) {
      defaults.push(t);
    } else if (
      t.numbers.some(
        (n) => n === call.called || normalizeNumber(n) === normalizeNumber(call.called),
      )
    ) {
      if (specific) {
        return {
          outcome: 'rejected',
          reason: `more than one trunk matches ${call.called} (${label(specific)} and ${label(t)}): LiveKit rejects the call ("Multiple SIP Trunks matched")`,
          agents: [],
          passedOver,
        };
      }
      specific = t;
    } else {
      passedOver.push(
        `trunk ${label(t)}: the called number ${call.called} is not one of its numbers (${t.numbers.join(', ')})`,
      );
    }
  }
  if (!specific && defaults.length > 1) {
    return {
      outcome: 'rejected',
      reason: `more than one trunk without numbers matches: LiveKit rejects the call ("Multiple default SIP Trunks matched")`,
      agents: [],
      passedOver,
    };
  }
  const trunk = specific ?? defaults[0];
  if (trunk?.authUsername) {
    if (!call.username) {
      return {
        outcome: 'digest_required',
        reason: `trunk ${label(trunk)} asks for digest credentials (407); a provider that does not answer the challenge never gets through`,
        trunk: { id: trunk.sipTrunkId, name: trunk.name, default: !specific },
        agents: [],
        passedOver,
      };
    }
    if (
      call.username !== trunk.authUsername ||
      (trunk.authPassword && call.password !== trunk.authPassword)
    ) {
      return {
        outcome: 'digest_failed',
        reason: `trunk ${label(trunk)} refuses these credentials: the username or password differ from the trunk's`,
        trunk: { id: trunk.sipTrunkId, name: trunk.name, default: !specific },
        agents: [],
        passedOver,
      };
    }
  }

  let best: SIPDispatchRuleInfo | undefined;
  let bestIsSpecific = false;
  for (const r of rules) {
    if (r.inboundNumbers.length > 0 && !r.inboundNumbers.includes(call.caller)) {
      const hint = r.inboundNumbers.includes(call.called)
        ? ' (its inbound_numbers list holds the called number: inbound_numbers are callers, numbers are called numbers)'
        : r.inboundNumbers.some((n) => normalizeNumber(n) === normalizeNumber(call.caller))
          ? ' (the same number in another form: rule numbers are compared exactly, +7... is not 7...)'
          : '';
      passedOver.push(
        `rule ${label(r)}: caller ${call.caller} is not in its inbound_numbers${hint}`,
      );
      continue;
    }
    if (r.numbers.length > 0 && !r.numbers.includes(call.called)) {
      const hint = r.numbers.includes(call.caller)
        ? ' (its numbers list holds the caller: numbers are called numbers, inbound_numbers are callers)'
        : r.numbers.some((n) => normalizeNumber(n) === normalizeNumber(call.called))
          ? ' (the same number in another form: rule numbers are compared exactly, +7... is not 7...)'
          : '';
      passedOver.push(
        `rule ${label(r)}: the called number ${call.called} is not in its numbers${hint}`,
      );
      continue;
    }
    const isSpecific = r.trunkIds.length > 0;
    if (isSpecific && (!trunk || !r.trunkIds.includes(trunk.sipTrunkId))) {
      passedOver.push(`rule ${label(r)}: scoped to other trunks (${r.trunkIds.join(', ')})`);
      continue;
    }
    if (
      !best ||
      (isSpecific && !bestIsSpecific) ||
      (isSpecific === bestIsSpecific && priority(r) < priority(best))
    ) {
      best = r;
      bestIsSpecific = isSpecific;
    }
  }
  const trunkView = trunk
    ? { id: trunk.sipTrunkId, name: trunk.name, default: !specific }
    : undefined;
  if (!best) {
    return {
      outcome: 'dropped',
      reason: trunk
        ? `trunk ${label(trunk)} matched but no dispatch rule did: LiveKit drops the INVITE without an answer and the caller hears ringing`
        : `no trunk matched and no rule without trunks applies: LiveKit drops the INVITE without an answer`,
      trunk: trunkView,
      agents: [],
      passedOver,
    };
  }
  return {
    outcome: 'accepted',
    reason: `trunk ${trunk ? label(trunk) : '(none)'} and rule ${label(best)}: the call goes to room ${roomOf(best, call)}`,
    trunk: trunkView,
    rule: { id: best.sipDispatchRuleId, name: best.name },
    room: roomOf(best, call),
    agents: (best.roomConfig?.agents ?? []).map((a) => a.agentName),
    passedOver,
  };
}
