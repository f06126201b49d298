import { urlHost } from '../kernel/url-host.js';
import type { TrunkDestinationPolicy } from '../destinations/index.js';
import type { FieldProblem } from '../errors/index.js';
import { normaliseAllowedAddress, parseHostPort, wideRangeProblem } from './addresses.js';
import { toE164 } from './phone.js';
import { getProviderPreset, type ProviderId, type SipTransport } from './provider-presets.js';
import type { TrunkCreateInput, TrunkUpdateInput } from './schemas.js';

/** Everything stored for a trunk, resolved from the request, the preset and the stored row. */
export interface TrunkSpec {
  name: string;
  provider: ProviderId;
  status: 'active' | 'inactive';
  supportsInbound: boolean;
  supportsOutbound: boolean;
  numbers: string[];
  allowedAddresses: string[];
  inboundUsername: string | null;
  /** undefined: keep the stored secret; null: clear it; string: the new plaintext. */
  inboundPassword: string | null | undefined;
  proxyAddress: string | null;
  proxyPort: number | null;
  transport: SipTransport;
  username: string | null;
  password: string | null | undefined;
  realm: string | null;
  fromHost: string | null;
  preferredCodecs: string[];
  mediaEncryption: string;
  maxConcurrentCalls: number | null;
  callsPerSecondLimit: number | null;
  numberFormat: string;
  register: boolean;
  registrar: string | null;
  registerExpiry: number;
  registerAlgorithm: string;
  destinationPolicy: TrunkDestinationPolicy | null;
  smsSplit: boolean;
  smsMaxSegments: number;
}

/** What is stored now, for updates: secrets only as "present or not". */
export interface StoredTrunk extends Omit<
  TrunkSpec,
  'inboundPassword' | 'password' | 'provider' | 'destinationPolicy'
> {
  provider: string;
  destinationPolicy: unknown;
  hasInboundPassword: boolean;
  hasPassword: boolean;
}

type Input = TrunkCreateInput | (TrunkUpdateInput & { provider?: ProviderId });

function pick<T>(
  input: T | null | undefined,
  stored: T | null | undefined,
  fallback: T | null,
): T | null {
  if (input === null) return null;
  if (input !== undefined) return input;
  return stored ?? fallback;
}

/**
 * Resolves a create or update request into the stored trunk, applying the provider preset's
 * defaults for what the request leaves out. Returns every problem at once, each naming its field.
 */
export function resolveTrunkSpec(
  input: Input,
  stored?: StoredTrunk,
): { ok: true; spec: TrunkSpec } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const provider = (input.provider ?? stored?.provider ?? 'generic') as ProviderId;
  const preset = getProviderPreset(provider);
  const providerChanged =
    stored !== undefined && input.provider !== undefined && input.provider !== stored.provider;
  const base = providerChanged ? undefined : stored;

  const numbers: string[] = [];
  (input.numbers ?? stored?.numbers ?? []).forEach((raw, index) => {
    const parsed = toE164(raw, preset.defaultCountry);
    if (!parsed.ok) problems.push({ field: `numbers.${index}`, message: parsed.error });
    else if (numbers.includes(parsed.e164)) {
      problems.push({ field: `numbers.${index}`, message: `${parsed.e164} is listed twice` });
    } else numbers.push(parsed.e164);
  });

  const allowedAddresses: string[] = [];
  const addressInput =
    input.allowed_addresses ?? base?.allowedAddresses ?? preset.inbound.allowedAddresses;
  addressInput.forEach((raw, index) => {
    const parsed = normaliseAllowedAddress(raw);
    const field = `allowed_addresses.${index}`;
    if (!parsed.ok) problems.push({ field, message: parsed.error });
    else if (input.allowed_addresses && !input.allow_any_source && wideRangeProblem(parsed.value))
      problems.push({ field, message: wideRangeProblem(parsed.value)! });
    else if (!allowedAddresses.includes(parsed.value)) allowedAddresses.push(parsed.value);
  });

  let proxyAddress = pick(input.proxy_address, base?.proxyAddress, preset.outbound.address || null);
  let proxyPort = pick(input.proxy_port, base?.proxyPort, null);
  if (proxyAddress) {
    const parsed = parseHostPort(proxyAddress);
    if (!parsed.ok) problems.push({ field: 'proxy_address', message: parsed.error });
    else {
      proxyAddress = parsed.host;
      if (parsed.port !== undefined) {
        if (
          proxyPort !== null &&
          input.proxy_port !== undefined &&
          input.proxy_port !== parsed.port
        ) {
          problems.push({
            field: 'proxy_port',
            message: `conflicts with the port in proxy_address (${parsed.port})`,
          });
        }
        proxyPort = parsed.port;
      }
    }
  }
  const transport = (input.transport ??
    base?.transport ??
    preset.outbound.transport) as SipTransport;
  if (proxyAddress && proxyPort === null)
    proxyPort = transport === 'tls' ? 5061 : preset.outbound.port || 5060;

  const mediaEncryption = input.media_encryption ?? base?.mediaEncryption ?? 'disable';
  if (mediaEncryption !== 'disable' && transport !== 'tls') {
    problems.push({
      field: 'media_encryption',
      message: `${mediaEncryption} needs transport tls: SRTP keys travel in the SDP, readable on ${transport}`,
    });
  }

  const fromHost = pick(input.from_host, base?.fromHost, null);
  if (fromHost) {
    const parsed = parseHostPort(fromHost);
    if (!parsed.ok || parsed.port !== undefined) {
      problems.push({
        field: 'from_host',
        message: `"${fromHost}" must be a hostname or IP without a port`,
      });
    }
  }

  const supportsInbound = input.supports_inbound ?? stored?.supportsInbound ?? true;
  // A preset's proxy alone does not make an outbound trunk: the admin asks for one, or gives
  // a proxy or credentials of their own.
  const supportsOutbound =
    input.supports_outbound ??
    stored?.supportsOutbound ??
    Boolean(input.proxy_address || input.username);
  if (!supportsInbound && !supportsOutbound) {
    problems.push({
      field: 'supports_inbound',
      message: 'a trunk must carry inbound or outbound calls (or both)',
    });
  }

  const inboundUsername = pick(input.inbound_username, stored?.inboundUsername, null);
  const inboundPassword = input.inbound_password;
  const hasInboundPassword =
    inboundPassword === undefined ? Boolean(stored?.hasInboundPassword) : inboundPassword !== null;
  if (Boolean(inboundUsername) !== hasInboundPassword) {
    problems.push({
      field: inboundUsername ? 'inbound_password' : 'inbound_username',
      message: 'inbound digest auth needs both inbound_username and inbound_password',
    });
  }
  const addressProblems = problems.some((p) => p.field.startsWith('allowed_addresses.'));
  if (supportsInbound && allowedAddresses.length === 0 && !inboundUsername && !addressProblems) {
    problems.push({
      field: 'allowed_addresses',
      message:
        'an inbound trunk needs allowed_addresses or inbound_username/inbound_password; without either, any host could send calls to these numbers',
    });
  }

  const username = pick(input.username, stored?.username, null);
  const password = input.password;
  const hasPassword = password === undefined ? Boolean(stored?.hasPassword) : password !== null;
  if (username && !hasPassword)
    problems.push({ field: 'password', message: 'username is set, so password is required' });
  if (!username && hasPassword && password !== undefined)
    problems.push({ field: 'username', message: 'password is set, so username is required' });
  if (supportsOutbound && !proxyAddress) {
    problems.push({
      field: 'proxy_address',
      message: `an outbound trunk needs proxy_address (the ${preset.displayName} preset has no default)`,
    });
  }

  const registration = resolveRegistration(input, stored, {
    username,
    hasPassword,
    proxyAddress,
    proxyPort,
  });
  problems.push(...registration.problems);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    spec: {
      name: input.name ?? stored!.name,
      provider,
      status: input.status ?? stored?.status ?? 'active',
      supportsInbound,
      supportsOutbound,
      numbers,
      allowedAddresses,
      inboundUsername,
      inboundPassword,
      proxyAddress,
      proxyPort,
      transport,
      username,
      password,
      realm: pick(input.realm, base?.realm, preset.registrar?.host ?? null),
      fromHost,
      preferredCodecs: input.preferred_codecs ?? base?.preferredCodecs ?? preset.codecs,
      mediaEncryption,
      maxConcurrentCalls: pick(input.max_concurrent_calls, stored?.maxConcurrentCalls, null),
      callsPerSecondLimit: pick(input.calls_per_second_limit, stored?.callsPerSecondLimit, null),
      numberFormat: providerChanged || !stored ? preset.numberFormat : stored.numberFormat,
      register: registration.register,
      registrar: registration.registrar,
      registerExpiry: registration.registerExpiry,
      registerAlgorithm: registration.registerAlgorithm,
      destinationPolicy: pick(
        input.destination_policy,
        stored?.destinationPolicy as TrunkDestinationPolicy | null | undefined,
        null,
      ),
      smsSplit: input.sms_split ?? stored?.smsSplit ?? false,
      smsMaxSegments: input.sms_max_segments ?? stored?.smsMaxSegments ?? 10,
    },
  };
}

/**
 * register/registrar/register_expiry: the edge registers with username/password/realm; the
 * registrar defaults to the outbound proxy.
 */
function resolveRegistration(
  input: Input,
  stored: StoredTrunk | undefined,
  account: {
    username: string | null;
    hasPassword: boolean;
    proxyAddress: string | null;
    proxyPort: number | null;
  },
): {
  register: boolean;
  registrar: string | null;
  registerExpiry: number;
  registerAlgorithm: string;
  problems: FieldProblem[];
} {
  const problems: FieldProblem[] = [];
  const register = input.register ?? stored?.register ?? false;
  const registerExpiry = input.register_expiry ?? stored?.registerExpiry ?? 300;
  const registerAlgorithm = input.register_algorithm ?? stored?.registerAlgorithm ?? 'MD5';
  let registrar = pick(input.registrar, stored?.registrar, null);
  if (registrar) {
    const parsed = parseHostPort(registrar);
    if (!parsed.ok) problems.push({ field: 'registrar', message: parsed.error });
    else {
      const host = urlHost(parsed.host);
      registrar = parsed.port === undefined ? host : `${host}:${parsed.port}`;
    }
  }
  if (register) {
    if (!registrar && !account.proxyAddress) {
      problems.push({
        field: 'registrar',
        message: 'register is true, so a registrar (or proxy_address) is needed',
      });
    }
    if (!account.username || !account.hasPassword) {
      problems.push({
        field: account.username ? 'password' : 'username',
        message: 'register is true, so username and password (the SIP account) are needed',
      });
    }
  }
  return { register, registrar, registerExpiry, registerAlgorithm, problems };
}
