import ipaddr from 'ipaddr.js';

/**
 * What may go into the SIP messages LiveKit SIP and the edge build from our data (RFC 3261
 * section 25.1). Everything else, CR and LF first, would let a value end a header and start
 * another one, or turn a transfer target into a request to a host nobody chose.
 *
 * `user` is RFC 3261's user part without `;` and `?`: a value holding them reads as URI
 * parameters or headers to half the SIP stacks and as part of the user to the other half.
 */
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,/]|%[0-9A-Fa-f]{2})+$/;
/** Digest realm: the inside of a quoted-string (qdtext, no quoted-pair), printable ASCII. */
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
/** Control characters (CTL of RFC 3261): never in any value that reaches a SIP message. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1F\x7F]/;
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** The only URI parameters a transfer target may carry: none of them names another host. */
const TRANSFER_PARAMS: Record<string, RegExp> = {
  transport: /^(udp|tcp|tls)$/i,
  user: /^phone$/i,
};

export type GrammarCheck = string | undefined;

/** A SIP user (usernames of trunks, digest usernames): undefined when valid, else why not. */
export function sipUserProblem(value: string): GrammarCheck {
  if (USER.test(value)) return undefined;
  return 'use letters, digits and - _ . ! ~ * \' ( ) & = + $ , / or %XX escapes (RFC 3261 user); no spaces, control characters, ";", "?", "@", "<" or ">"';
}

export function sipRealmProblem(value: string): GrammarCheck {
  if (REALM.test(value)) return undefined;
  return 'use printable ASCII without " and \\ (RFC 3261 quoted-string); no control characters';
}

/** Passwords are only hashed into digests, but still travel to the edge: no control bytes. */
export function sipSecretProblem(value: string): GrammarCheck {
  return CONTROL.test(value)
    ? 'must not contain control characters (CR, LF, NUL, tab...)'
    : undefined;
}

function hostProblem(host: string): GrammarCheck {
  const bracketed = /^\[(.+)\]$/.exec(host);
  if (bracketed) return ipaddr.IPv6.isValid(bracketed[1]!) ? undefined : 'is not an IPv6 address';
  if (ipaddr.IPv4.isValidFourPartDecimal(host) || HOSTNAME.test(host)) return undefined;
  return 'is not a hostname or IP address';
}

/**
 * A SIP URI a call may be transferred to (it goes into REFER's Refer-To): `sip:` or `sips:`,
 * a user, a host, an optional port, and only the parameters `transport` and `user=phone`. No
 * URI headers (`?Replaces=...` would take over another dialog), no `maddr` or `method` (another
 * host or request than the URI says), no spaces or brackets that end the header value.
 */
export function sipTransferUriProblem(value: string): GrammarCheck {
  const m = /^(sips?):([^@]+)@([^;]+)((?:;[^;]*)*)$/i.exec(value);
  if (!m) return 'is not a SIP URI like sip:user@host';
  const [, , user, hostPort, params] = m;
  if (value.includes('?')) return 'must not carry URI headers ("?..."), such as ?Replaces=';
  if (sipUserProblem(user!)) return `has a user part that is not allowed: ${sipUserProblem(user!)}`;
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hostPort!);
  if (!hp) return 'has an invalid host or port';
  const hostError = hostProblem(hp[1]!);
  if (hostError) return `has a host that ${hostError}`;
  if (hp[2] !== undefined && (Number(hp[2]) < 1 || Number(hp[2]) > 65535))
    return 'has a port outside 1-65535';
  for (const param of params!.split(';').slice(1)) {
    const [name = '', paramValue = '', ...rest] = param.split('=');
    const allowed = TRANSFER_PARAMS[name.toLowerCase()];
    if (!allowed || rest.length > 0 || !allowed.test(paramValue))
      return `has the URI parameter ${JSON.stringify(param)}; only transport=udp|tcp|tls and user=phone are allowed`;
  }
  return undefined;
}
