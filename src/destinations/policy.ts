import { z } from 'zod';
import { COSTLY_CLASSES, type CostlyClass, type RefusalRule } from './classes.js';
import { classifyNumber } from './classify.js';

/** Where calls (and later messages) may go: one global default, overridable per trunk. */
export interface DestinationPolicy {
  /** E.164 prefixes ('+49', '+1212') a number must start with; empty: any country. */
  allowedPrefixes: string[];
  /** Costly classes let through despite the default refusal. */
  allowClasses: CostlyClass[];
  /** Hosts a sip: target may name besides those of the gateway's own trunks. */
  sipHosts: string[];
}

export const PREFIX_PATTERN = /^\+\d{1,15}$/;
export const SIP_HOST_PATTERN =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9-]{1,63})*|\[[0-9a-f:.]+\])$/i;

/** A trunk's `destination_policy`: each field given replaces the global default's. */
export const destinationPolicySchema = z
  .object({
    allowed_prefixes: z
      .array(z.string().regex(PREFIX_PATTERN, 'a prefix is + and 1-15 digits, e.g. +49 or +1212'))
      .max(500)
      .optional(),
    allow_classes: z
      .array(z.enum(COSTLY_CLASSES, { message: `one of ${COSTLY_CLASSES.join(', ')}` }))
      .max(COSTLY_CLASSES.length)
      .optional(),
    sip_hosts: z
      .array(
        z
          .string()
          .max(255)
          .regex(SIP_HOST_PATTERN, 'a host name or IP address, no port')
          .transform((h) => h.toLowerCase()),
      )
      .max(100)
      .optional(),
  })
  .strict();
export type TrunkDestinationPolicy = z.infer<typeof destinationPolicySchema>;

/** The policy a trunk's calls obey: its own fields over the global default. */
export function effectivePolicy(
  global: DestinationPolicy,
  trunk: TrunkDestinationPolicy | null | undefined,
): DestinationPolicy {
  return {
    allowedPrefixes: trunk?.allowed_prefixes ?? global.allowedPrefixes,
    allowClasses: trunk?.allow_classes ?? global.allowClasses,
    sipHosts: trunk?.sip_hosts ?? global.sipHosts,
  };
}

export type Destination =
  { kind: 'number'; e164: string } | { kind: 'sip'; user: string; host: string };

export type Verdict = { allowed: true } | { allowed: false; rule: RefusalRule; message: string };

const CLASS_NAMES: Record<CostlyClass, string> = {
  premium_rate: 'a premium-rate number',
  shared_cost: 'a shared-cost number',
  personal_number: 'a personal (follow-me) number',
  international_network: 'a satellite or international network number',
};

/** The number a SIP URI's user part dials: '+' and digits, or '00' and digits. */
function numberInSipUser(user: string): string | undefined {
  const digits = user.split(';')[0]!.replace(/[\s().-]/g, '');
  if (/^\+\d{6,15}$/.test(digits)) return digits;
  if (/^00\d{6,15}$/.test(digits)) return `+${digits.slice(2)}`;
  return undefined;
}

function checkNumber(e164: string, policy: DestinationPolicy): Verdict {
  const { allowedPrefixes, allowClasses } = policy;
  if (allowedPrefixes.length > 0 && !allowedPrefixes.some((p) => e164.startsWith(p))) {
    return {
      allowed: false,
      rule: 'country_not_allowed',
      message: `${e164} is not in the allowed prefixes (${allowedPrefixes.join(', ')})`,
    };
  }
  const costly = classifyNumber(e164).class;
  if (costly && !allowClasses.includes(costly)) {
    return {
      allowed: false,
      rule: costly,
      message: `${e164} is ${CLASS_NAMES[costly]}; refused unless allow_classes has ${costly}`,
    };
  }
  return { allowed: true };
}

/**
 * Whether a call (or a message) may go to `destination` under `policy`. A sip: target must name
 * one of `trunkHosts` (the gateway's own trunks) or the policy's sip_hosts; a number in its user
 * part obeys the number rules too. Pure: no I/O, the same answer for calls, transfers and SMS.
 */
export function checkDestination(
  destination: Destination,
  policy: DestinationPolicy,
  trunkHosts: readonly string[] = [],
): Verdict {
  if (destination.kind === 'number') return checkNumber(destination.e164, policy);
  const host = destination.host.toLowerCase();
  if (!trunkHosts.includes(host) && !policy.sipHosts.includes(host)) {
    return {
      allowed: false,
      rule: 'sip_host_not_allowed',
      message: `sip: targets may name only the hosts of the gateway's trunks or sip_hosts; ${host} is neither`,
    };
  }
  const number = numberInSipUser(destination.user);
  return number ? checkNumber(number, policy) : { allowed: true };
}
