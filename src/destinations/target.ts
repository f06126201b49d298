import type { Destination } from './policy.js';

/** A host as the policy compares it: lower case, no port, IPv6 in brackets. */
export function bareHost(hostPort: string): string {
  const h = hostPort.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colons = h.split(':').length - 1;
  if (colons > 1) return `[${h}]`;
  return colons === 1 ? h.slice(0, h.indexOf(':')) : h;
}

function decoded(user: string): string {
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

/**
 * The destination of a checked target: 'tel:+E.164' or '+E.164' (already normalised), or a
 * 'sip:'/'sips:' URI. Returns undefined for anything else.
 */
export function destinationOf(target: string): Destination | undefined {
  if (/^tel:\+\d+$/i.test(target)) return { kind: 'number', e164: target.slice(4) };
  if (/^\+\d+$/.test(target)) return { kind: 'number', e164: target };
  const sip = /^sips?:([^@]+)@([^;?>]+)/i.exec(target);
  if (sip) return { kind: 'sip', user: decoded(sip[1]!), host: bareHost(sip[2]!) };
  return undefined;
}
