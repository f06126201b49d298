import { toE164 } from '../trunks/index.js';

/** What an entry matches: one caller number, or every number starting with the digits. */
export interface Pattern {
  /** Digits only: E.164 without '+'. */
  digits: string;
  isPrefix: boolean;
}

/** E.164 has at most 15 digits; the edge looks up no longer prefix. */
export const maxPrefixDigits = 15;

const PREFIX = /^\+?\d{1,15}$/;

/** A caller number in E.164 ("+15550100123"), or an error naming what is wrong. */
export function numberPattern(
  input: string,
): { ok: true; pattern: Pattern } | { ok: false; error: string } {
  if (!input.trim().startsWith('+'))
    return { ok: false, error: `"${input}" is not in E.164: start with + and the country code` };
  const parsed = toE164(input);
  if (!parsed.ok) return parsed;
  return { ok: true, pattern: { digits: parsed.e164.slice(1), isPrefix: false } };
}

/** A prefix: 1-15 digits, with or without a leading '+'. */
export function prefixPattern(
  input: string,
): { ok: true; pattern: Pattern } | { ok: false; error: string } {
  const trimmed = input.trim();
  if (!PREFIX.test(trimmed))
    return {
      ok: false,
      error: `"${input}" is not a prefix: 1-${maxPrefixDigits} digits, optionally after a +`,
    };
  return { ok: true, pattern: { digits: trimmed.replace(/^\+/, ''), isPrefix: true } };
}

/** The edge's htable key (deploy/kamailio/edge.cfg, route BLOCKLIST). */
export function edgeKey(p: Pattern): string {
  return `${p.isPrefix ? 'p' : 'n'}:${p.digits}`;
}

export function patternOfEdgeKey(key: string): Pattern | undefined {
  const m = /^([np]):(\d{1,32})$/.exec(key);
  return m ? { digits: m[2]!, isPrefix: m[1] === 'p' } : undefined;
}

/** A number as the caller's or called party's SIP user gave it: '+' and its digits, if any. */
export function e164OfSipUser(user: string | undefined): string | null {
  if (!user || !/^\+?[\d\s().-]+$/.test(user)) return null;
  const digits = user.replace(/\D/g, '');
  return digits ? `+${digits}` : null;
}
