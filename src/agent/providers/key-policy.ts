import { DEFAULT_API_KEY_ENV, type ProviderName } from './settings.js';

/**
 * Which worker environment variables a profile may name as a provider's API key, and which hosts
 * a key may be sent to. A profile is data an API user writes; the worker's environment also holds
 * the gateway's own secrets (LIVEKIT_API_SECRET, GATEWAY_ENCRYPTION_KEY, the S3 secret...). Without
 * this a profile could name any of them and a base_url of its choosing, and the next call would
 * send that secret there as a bearer token. Checked by the API when a profile is written and by
 * the worker when it builds a provider, so a profile stored before this rule sends nothing either.
 */

/** Variables any profile may name: the providers' usual ones and the documented prefix. */
export const DEFAULT_PROVIDER_KEY_ENVS: readonly string[] = Object.values(DEFAULT_API_KEY_ENV);
export const PROVIDER_KEY_ENV_PREFIX = 'VG_PROVIDER_KEY_';

/** Where each provider's key goes when base_url is left out, and where it may always go. */
export const OFFICIAL_PROVIDER_HOSTS: Record<ProviderName, readonly string[]> = {
  openai: ['api.openai.com'],
  deepgram: ['api.deepgram.com'],
  elevenlabs: ['api.elevenlabs.io'],
};

/**
 * Names of the gateway's own settings and of the well-known secret holders beside them: never a
 * provider key, whatever the operator lists (the configuration refuses such a list).
 */
const GATEWAY_OWN_ENV =
  /^(LIVEKIT_|GATEWAY_|DATABASE_|POSTGRES|PG[A-Z]|REDIS_|TURN_|RECORDINGS_|CALL_WEBHOOK_|WEBHOOK_|EDGE_|AWS_|AGENT_|API_|NODE_|npm_)/;
/** The bridge's secrets (bridge.jwt_secret_env, hmac_secret_env) sign; they are no provider key. */
const BRIDGE_ENV = /^BRIDGE_/;

export interface ProviderKeyPolicy {
  /** Extra variable names the operator allows (AGENT_PROVIDER_KEY_ENVS). */
  keyEnvs: readonly string[];
  /** Extra hosts keys may be sent to (AGENT_PROVIDER_HOSTS): self-hosted or compatible servers. */
  hosts: readonly string[];
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** The policy as the environment sets it (the same variables in the API and the worker). */
export function providerKeyPolicyFrom(env: Record<string, string | undefined>): ProviderKeyPolicy {
  return {
    keyEnvs: list(env.AGENT_PROVIDER_KEY_ENVS),
    hosts: list(env.AGENT_PROVIDER_HOSTS).map((h) => h.toLowerCase()),
  };
}

/** Why an operator-listed name can never be a provider key, or undefined. */
export function gatewaySecretEnvProblem(name: string): string | undefined {
  if (GATEWAY_OWN_ENV.test(name))
    return `${name} is one of the gateway's own settings or secrets and is never sent to a provider`;
  if (BRIDGE_ENV.test(name)) return `${name} holds a bridge secret, not a provider key`;
  return undefined;
}

/** Why a profile's bridge may not sign with the variable `name`, or undefined. */
export function bridgeSecretEnvProblem(name: string): string | undefined {
  if (GATEWAY_OWN_ENV.test(name))
    return `${name} is one of the gateway's own settings or secrets; name a BRIDGE_* variable`;
  if (isProviderKeyName(name, { keyEnvs: [], hosts: [] }))
    return `${name} holds a provider's API key; name a BRIDGE_* variable`;
  return undefined;
}

function isProviderKeyName(name: string, policy: ProviderKeyPolicy): boolean {
  return (
    DEFAULT_PROVIDER_KEY_ENVS.includes(name) ||
    (name.startsWith(PROVIDER_KEY_ENV_PREFIX) && name.length > PROVIDER_KEY_ENV_PREFIX.length) ||
    policy.keyEnvs.includes(name)
  );
}

export interface KeyProblem {
  field: 'api_key_env' | 'base_url';
  message: string;
}

/** Every reason the part's key may not be sent where it says; empty when it may. */
export function providerKeyProblems(
  settings: { provider: string; api_key_env: string | null; base_url?: string | undefined },
  policy: ProviderKeyPolicy,
): KeyProblem[] {
  const name = settings.api_key_env;
  if (name === null) return []; // no key is sent at all
  const problems: KeyProblem[] = [];
  const secret = gatewaySecretEnvProblem(name);
  if (secret || !isProviderKeyName(name, policy)) {
    problems.push({
      field: 'api_key_env',
      message:
        secret ??
        `${name} is not a provider key variable: use ${DEFAULT_PROVIDER_KEY_ENVS.join(', ')} or ${PROVIDER_KEY_ENV_PREFIX}<NAME>, or have the operator list it in AGENT_PROVIDER_KEY_ENVS`,
    });
  }
  if (settings.base_url !== undefined) {
    const host = hostOf(settings.base_url);
    const official = OFFICIAL_PROVIDER_HOSTS[settings.provider as ProviderName] ?? [];
    if (!host || (!official.includes(host) && !policy.hosts.includes(host))) {
      problems.push({
        field: 'base_url',
        message: `the ${settings.provider} key would be sent to ${host ?? 'an unreadable host'}, which is not ${official.join(' or ')}; the operator allows other hosts in AGENT_PROVIDER_HOSTS (or set api_key_env: null for a keyless endpoint)`,
      });
    }
  }
  return problems;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}
