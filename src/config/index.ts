import path from 'node:path';
import { readTurnSecret } from '../turn/credentials.js';
import { envSchema } from './schema.js';

export interface GatewayConfig {
  databaseUrl: string | undefined;
  dataDir: string;
  encryptionKey: string | undefined;
  api: { host: string; port: number; bodyLimit: string };
  livekit: { url: string; apiKey: string; apiSecret: string; timeoutMs: number };
  sipPublic: { host: string; port: number };
  reconcile: { intervalSeconds: number; mode: 'repair' | 'report' };
  webhooks: { livekitBodyLimit: string; livekitClockToleranceSeconds: number };
  calls: { reconcileIntervalSeconds: number };
  turn: {
    secret: string | undefined;
    host: string;
    port: number;
    tlsPort: number;
    ttlSeconds: number;
  };
  web: { livekitPublicUrl: string; joinTokenTtlSeconds: number };
  webhooksOut: {
    redisUrl: string | undefined;
    timeoutMs: number;
    retryScheduleMs: number[];
    disableAfterMs: number;
    secretGraceMs: number;
    allowPrivateTargets: boolean;
    jobLockMs: number;
    callSecret: string | undefined;
  };
  diagnostics: { livekitConfigFile: string | undefined; sipConfigFile: string | undefined };
  log: { level: string; redactPii: boolean };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once; every bad variable is named in the error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  if (e.DATABASE_URL && !e.GATEWAY_ENCRYPTION_KEY) {
    throw new ConfigError([
      'GATEWAY_ENCRYPTION_KEY: required when DATABASE_URL is set (32 random bytes, base64: `openssl rand -base64 32`)',
    ]);
  }
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.GATEWAY_DATA_DIR),
    encryptionKey: e.GATEWAY_ENCRYPTION_KEY,
    api: { host: e.API_HOST, port: e.API_PORT, bodyLimit: e.API_BODY_LIMIT },
    livekit: {
      url: e.LIVEKIT_URL,
      apiKey: e.LIVEKIT_API_KEY,
      apiSecret: e.LIVEKIT_API_SECRET,
      timeoutMs: e.LIVEKIT_TIMEOUT_MS,
    },
    sipPublic: { host: e.SIP_PUBLIC_HOST, port: e.SIP_PUBLIC_PORT },
    reconcile: { intervalSeconds: e.RECONCILE_INTERVAL_SECONDS, mode: e.RECONCILE_MODE },
    webhooks: {
      livekitBodyLimit: e.LIVEKIT_WEBHOOK_BODY_LIMIT,
      livekitClockToleranceSeconds: e.LIVEKIT_WEBHOOK_CLOCK_TOLERANCE_SECONDS,
    },
    calls: { reconcileIntervalSeconds: e.CALLS_RECONCILE_INTERVAL_SECONDS },
    turn: {
      secret: turnSecret(e.TURN_SECRET, e.TURN_SECRET_FILE),
      host: e.TURN_HOST,
      port: e.TURN_PORT,
      tlsPort: e.TURNS_PORT,
      ttlSeconds: e.TURN_TTL_SECONDS,
    },
    webhooksOut: {
      redisUrl: e.REDIS_URL,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: parseSchedule(e.WEBHOOK_RETRY_SCHEDULE),
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000,
      secretGraceMs: e.WEBHOOK_SECRET_GRACE_HOURS * 3_600_000,
      allowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      jobLockMs: e.WEBHOOK_JOB_LOCK_MS,
      callSecret: e.CALL_WEBHOOK_SECRET,
    },
    diagnostics: {
      livekitConfigFile: e.LIVEKIT_CONFIG_FILE,
      sipConfigFile: e.LIVEKIT_SIP_CONFIG_FILE,
    },
    web: {
      livekitPublicUrl: e.LIVEKIT_PUBLIC_URL ?? e.LIVEKIT_URL.replace(/^http/, 'ws'),
      joinTokenTtlSeconds: e.JOIN_TOKEN_TTL_SECONDS,
    },
    log: { level: e.LOG_LEVEL, redactPii: e.LOG_REDACT_PII },
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "5s,5m,30m" into milliseconds; a bad entry is a ConfigError naming it. */
function parseSchedule(text: string): number[] {
  return text.split(',').map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)(ms|s|m|h)\s*$/.exec(part);
    if (!m)
      throw new ConfigError([
        `WEBHOOK_RETRY_SCHEDULE: ${JSON.stringify(part)} is not a duration like 5s, 5m or 2h`,
      ]);
    return Number(m[1]) * UNITS[m[2]!]!;
  });
}

function turnSecret(secret: string | undefined, file: string | undefined): string | undefined {
  try {
    return readTurnSecret(secret, file);
  } catch (error) {
    throw new ConfigError([
      `TURN_SECRET: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
}

export { createLogger, type Logger } from './logger.js';
