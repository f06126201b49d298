import ipaddr from 'ipaddr.js';

/**
 * Validates an allowed-address entry: an IP or a CIDR whose host bits are zero. Returns the
 * canonical form or an error message that says what to write instead.
 */
export function normaliseAllowedAddress(
  input: string,
): { ok: true; value: string } | { ok: false; error: string } {
  const text = input.trim();
  if (text.includes('/')) {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      parsed = ipaddr.parseCIDR(text);
    } catch {
      return { ok: false, error: `"${input}" is not a valid CIDR (e.g. 185.45.152.0/24)` };
    }
    const [address, bits] = parsed;
    const network =
      address.kind() === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(text)
        : ipaddr.IPv6.networkAddressFromCIDR(text);
    if (network.toString() !== address.toString()) {
      return {
        ok: false,
        error: `"${input}" has host bits set; did you mean ${network.toString()}/${bits}?`,
      };
    }
    return { ok: true, value: `${address.toString()}/${bits}` };
  }
  if (!ipaddr.isValid(text)) {
    return { ok: false, error: `"${input}" is not an IP address or CIDR` };
  }
  return { ok: true, value: ipaddr.parse(text).toString() };
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Host[:port] as LiveKit's outbound `address` wants it: no scheme, no user part. */
export function parseHostPort(
  input: string,
): { ok: true; host: string; port?: number } | { ok: false; error: string } {
  const text = input.trim();
  if (/^sips?:/i.test(text) || text.includes('@')) {
    return {
      ok: false,
      error: `"${input}" must be a host or host:port, not a SIP URI (drop "sip:" and the user part)`,
    };
  }
  let host = text;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2] ? Number(bracketed[2]) : undefined;
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const [h, p] = text.split(':');
    host = h!;
    if (!/^\d{1,5}$/.test(p!)) return { ok: false, error: `"${input}" has an invalid port` };
    port = Number(p);
  }
  if (port !== undefined && (port < 1 || port > 65535)) {
    return { ok: false, error: `"${input}" has a port outside 1-65535` };
  }
  if (!ipaddr.isValid(host) && !HOSTNAME.test(host)) {
    return { ok: false, error: `"${input}" is not a valid hostname or IP address` };
  }
  return { ok: true, host, port };
}

/** Ranges wider than these admit so much of the internet that they are no source check at all. */
const WIDEST_PREFIX = { ipv4: 16, ipv6: 32 } as const;

/**
 * Why a normalised allowed-address entry needs `allow_any_source: true` (0.0.0.0/0, ::/0 and
 * anything wider than a /16 or an IPv6 /32), or undefined for an ordinary provider range.
 */
export function wideRangeProblem(normalised: string): string | undefined {
  if (!normalised.includes('/')) return undefined;
  const [address, bits] = ipaddr.parseCIDR(normalised);
  const kind = address.kind();
  if (bits >= WIDEST_PREFIX[kind]) return undefined;
  const what = bits === 0 ? 'every address on the internet' : `more than a /${WIDEST_PREFIX[kind]}`;
  return `"${normalised}" admits ${what}, which is no source check; list your provider's addresses, or set allow_any_source: true to accept it`;
}
