import { BridgeConfigError, type BridgeOptions } from './options.js';

/** The `bridge` block of an agent profile (src/agent/profile.ts, bridgeSettingsSchema). */
export interface BridgeProfileSettings {
  url: string;
  jwt_secret_env: string;
  hmac_secret_env: string;
}

/**
 * Bridge options from a profile: the secrets come from the environment variables the profile
 * names (profiles never hold secrets). Throws BridgeConfigError naming a missing variable.
 */
export function bridgeOptionsFromProfile(
  settings: BridgeProfileSettings,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Omit<Partial<BridgeOptions>, 'url' | 'jwtSecret' | 'hmacSecret'> = {},
): BridgeOptions {
  const read = (name: string, field: string) => {
    const value = env[name];
    if (!value) {
      throw new BridgeConfigError(
        `invalid bridge options: environment variable ${name} (bridge.${field}) is not set`,
      );
    }
    return value;
  };
  return {
    ...overrides,
    url: settings.url,
    jwtSecret: read(settings.jwt_secret_env, 'jwt_secret_env'),
    hmacSecret: read(settings.hmac_secret_env, 'hmac_secret_env'),
  };
}
