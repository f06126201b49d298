import { urlHost } from '../kernel/url-host.js';
import os from 'node:os';
import path from 'node:path';
import { readTurnSecret } from '../turn/credentials.js';
import {
  gatewaySecretEnvProblem,
  providerKeyPolicyFrom,
  type ProviderKeyPolicy,
} from '../agent/providers/key-policy.js';
import { envSchema, type Env } from './schema.js';

export interface GatewayConfig {
  databaseUrl: string | undefined;
  /** GATEWAY_LOCAL_STACK: the loopback stack of npm start (livekit-secret.ts). */
  localStack: boolean;
  databasePoolMax: number;
  dataDir: string;
  encryptionKey: string | undefined;
  /** GATEWAY_INSTALLATION_ID; unset: the database's installation row (installationOf). */
  installationId: string | undefined;
  api: { host: string; port: number; bodyLimit: string };
  /** /internal/* and /metrics: their own listener, loopback by default. */
  internal: { host: string; port: number };
  livekit: { url: string; apiKey: string; apiSecret: string; timeoutMs: number };
  sipPublic: { host: string; port: number };
  reconcile: { intervalSeconds: number; mode: 'repair' | 'report' };
  webhooks: { livekitBodyLimit: string; livekitClockToleranceSeconds: number };
  calls: { reconcileIntervalSeconds: number; maxActive: number | undefined };
  /** The agent worker's name (AGENT_NAME): outbound calls dispatch it into their room. */
  agent: {
    name: string;
    gatewayApiUrl: string;
    offlineProfile: string | undefined;
    /** Host processes to run (CALL_HOSTS); undefined: one per core. */
    hosts: number | undefined;
    hostCapacity: number;
    /** CALL_HOST_DRAIN_SECONDS: the bound on a host's drain after SIGTERM. */
    drainSeconds: number;
    httpPort: number;
    /** AGENT_HTTP_HOST: where the call hosts' health port listens. */
    httpHost: string;
    holdMusicFile: string | undefined;
    /** Which variables and hosts a profile may send provider keys with (key-policy.ts). */
    providerKeys: ProviderKeyPolicy;
  };
  recordings: {
    dir: string;
    /** LIVEKIT_FFMPEG_PATH. */
    ffmpegPath: string;
    sweepIntervalSeconds: number;
    linkTtlSeconds: number;
    publicApiUrl: string;
    /** Set when RECORDINGS_STORAGE=s3: finished recordings are moved to this bucket. */
    s3: RecordingsS3Config | undefined;
  };
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
  edge: {
    enabled: boolean;
    rpcUrl: string;
    /** EDGE_RPC_SECRET ('' when the edge is off). */
    rpcSecret: string;
    /** KAMAILIO_MODULES_DIR: read by the edge process. */
    modulesDir: string;
    contactAddress: string;
    sourceAddress: string;
    /** EDGE_SIP_LISTEN and EDGE_LIVEKIT_SIP_ADDRESS: read by the edge process (src/edge/main.ts). */
    sipListen: string;
    livekitSipAddress: string;
    /** EDGE_LIVEKIT_PROBE_SECONDS: the edge's OPTIONS probes of each LiveKit SIP instance. */
    livekitProbeSeconds: number;
    pollSeconds: number;
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    soleInstance: boolean;
    instanceId: string;
  };
  /** Callers the edge refuses (src/blocklist): the default SIP status of an entry. */
  blocklist: { sipStatus: number };
  /** SIP users registering at the edge (src/sipusers). */
  sipUsers: { realm: string; domain: string; registerExpires: number };
  /** SMS over SIP MESSAGE (src/sms, docs/sms.md). */
  sms: {
    sipHost: string;
    sipPort: number;
    sendTimeoutMs: number;
    retryScheduleMs: number[];
    historyMessages: number;
  };
  /** Personal data kept this many days (0: forever), swept every sweepIntervalSeconds. */
  retention: {
    transcriptDays: number;
    webhookDeliveryDays: number;
    livekitEventDays: number;
    smsDays: number;
    sweepIntervalSeconds: number;
  };
  /** Toll fraud: the global destination policy (src/destinations). */
  destinations: { allowedPrefixes: string[]; allowClasses: string[]; sipHosts: string[] };
  /** API rate limits (src/http-kit/rate-limit.ts); Redis at webhooksOut.redisUrl when set. */
  rateLimits: {
    enabled: boolean;
    windowMs: number;
    perKey: number;
    perSource: number;
    internalPerSource: number;
    authFailures: number;
    authFailureWindowMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** An address as a URL host: 0.0.0.0 and :: mean "this machine"; IPv6 goes in brackets. */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return urlHost(host);
}

/** Reads and validates the environment once; every bad variable is named in the error. */
/** GATEWAY_DATA_DIR, resolved, before the rest of the configuration is read. */
export function dataDirOf(env: NodeJS.ProcessEnv = process.env): string {
  const parsed = envSchema.shape.GATEWAY_DATA_DIR.safeParse(env.GATEWAY_DATA_DIR || undefined);
  if (!parsed.success)
    throw new ConfigError([`GATEWAY_DATA_DIR: ${parsed.error.issues[0]?.message}`]);
  return path.resolve(parsed.data);
}

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
  if (e.EDGE_ENABLED && !e.EDGE_RPC_SECRET) {
    throw new ConfigError([
      'EDGE_RPC_SECRET: required when EDGE_ENABLED is true (the same secret the edge config was rendered with; `openssl rand -hex 24`)',
    ]);
  }
  return {
    databaseUrl: e.DATABASE_URL,
    localStack: e.GATEWAY_LOCAL_STACK,
    databasePoolMax: e.DATABASE_POOL_MAX,
    dataDir: path.resolve(e.GATEWAY_DATA_DIR),
    encryptionKey: e.GATEWAY_ENCRYPTION_KEY,
    installationId: e.GATEWAY_INSTALLATION_ID,
    api: { host: e.API_HOST, port: e.API_PORT, bodyLimit: e.API_BODY_LIMIT },
    internal: { host: e.INTERNAL_HOST, port: e.INTERNAL_PORT },
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
    calls: {
      reconcileIntervalSeconds: e.CALLS_RECONCILE_INTERVAL_SECONDS,
      maxActive: e.CALLS_MAX_ACTIVE,
    },
    agent: {
      name: e.AGENT_NAME,
      gatewayApiUrl:
        e.GATEWAY_API_URL ?? `http://${hostForUrl(e.INTERNAL_HOST)}:${e.INTERNAL_PORT}`,
      offlineProfile: e.AGENT_OFFLINE_PROFILE,
      hosts: e.CALL_HOSTS,
      hostCapacity: e.CALL_HOST_CAPACITY,
      drainSeconds: e.CALL_HOST_DRAIN_SECONDS,
      httpPort: e.AGENT_HTTP_PORT,
      httpHost: e.AGENT_HTTP_HOST,
      holdMusicFile: e.HOLD_MUSIC_FILE,
      providerKeys: providerKeyPolicy(e),
    },
    recordings: {
      dir: path.resolve(e.RECORDINGS_DIR ?? path.join(e.GATEWAY_DATA_DIR, 'recordings')),
      ffmpegPath: e.LIVEKIT_FFMPEG_PATH,
      sweepIntervalSeconds: e.RECORDINGS_SWEEP_INTERVAL_SECONDS,
      linkTtlSeconds: e.RECORDING_LINK_TTL_SECONDS,
      publicApiUrl: e.API_PUBLIC_URL ?? `http://${hostForUrl(e.API_HOST)}:${e.API_PORT}`,
      s3: recordingsS3(e),
    },
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
    edge: {
      enabled: e.EDGE_ENABLED,
      rpcUrl: e.EDGE_RPC_URL,
      rpcSecret: e.EDGE_RPC_SECRET ?? '',
      modulesDir: e.KAMAILIO_MODULES_DIR,
      contactAddress: e.EDGE_CONTACT_ADDRESS,
      sourceAddress: e.EDGE_SOURCE_ADDRESS,
      sipListen: e.EDGE_SIP_LISTEN,
      livekitSipAddress: e.EDGE_LIVEKIT_SIP_ADDRESS,
      livekitProbeSeconds: e.EDGE_LIVEKIT_PROBE_SECONDS,
      pollSeconds: e.EDGE_POLL_SECONDS,
      retryBaseSeconds: e.EDGE_RETRY_BASE_SECONDS,
      retryMaxSeconds: e.EDGE_RETRY_MAX_SECONDS,
      soleInstance: e.EDGE_SOLE_INSTANCE,
      instanceId: e.EDGE_INSTANCE_ID ?? `${os.hostname()}:${process.pid}`,
    },
    blocklist: { sipStatus: e.BLOCKLIST_SIP_STATUS },
    sipUsers: {
      realm: e.SIP_USERS_REALM,
      domain: e.SIP_USERS_DOMAIN ?? e.SIP_USERS_REALM,
      registerExpires: e.SIP_USERS_REGISTER_EXPIRES,
    },
    sms: {
      sipHost: e.SMS_SIP_HOST,
      sipPort: e.SMS_SIP_PORT,
      sendTimeoutMs: e.SMS_SEND_TIMEOUT_MS,
      retryScheduleMs: parseSchedule(e.SMS_RETRY_SCHEDULE, 'SMS_RETRY_SCHEDULE'),
      historyMessages: e.SMS_HISTORY_MESSAGES,
    },
    retention: {
      transcriptDays: e.CALL_TRANSCRIPT_RETENTION_DAYS,
      webhookDeliveryDays: e.WEBHOOK_DELIVERY_RETENTION_DAYS,
      livekitEventDays: e.LIVEKIT_EVENT_RETENTION_DAYS,
      smsDays: e.SMS_RETENTION_DAYS,
      sweepIntervalSeconds: e.RETENTION_SWEEP_INTERVAL_SECONDS,
    },
    destinations: {
      allowedPrefixes: e.DESTINATIONS_ALLOWED_PREFIXES,
      allowClasses: e.DESTINATIONS_ALLOW_CLASSES,
      sipHosts: e.DESTINATIONS_SIP_HOSTS.map((h) => h.toLowerCase()),
    },
    rateLimits: {
      enabled: e.RATE_LIMIT_ENABLED,
      windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000,
      perKey: e.RATE_LIMIT_PER_KEY,
      perSource: e.RATE_LIMIT_PER_SOURCE,
      internalPerSource: e.RATE_LIMIT_INTERNAL_PER_SOURCE,
      authFailures: e.RATE_LIMIT_AUTH_FAILURES,
      authFailureWindowMs: e.RATE_LIMIT_AUTH_FAILURE_WINDOW_SECONDS * 1000,
    },
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "5s,5m,30m" into milliseconds; a bad entry is a ConfigError naming it. */
function parseSchedule(text: string, name = 'WEBHOOK_RETRY_SCHEDULE'): number[] {
  return text.split(',').map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?)(ms|s|m|h)\s*$/.exec(part);
    if (!m)
      throw new ConfigError([
        `${name}: ${JSON.stringify(part)} is not a duration like 5s, 5m or 2h`,
      ]);
    return Number(m[1]) * UNITS[m[2]!]!;
  });
}

export interface RecordingsS3Config {
  endpoint: string | undefined;
  bucket: string;
  region: string;
  /** Both set, or both unset for the AWS SDK's default credential chain. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  prefix: string;
  forcePathStyle: boolean;
}

function recordingsS3(e: Env): RecordingsS3Config | undefined {
  if (e.RECORDINGS_STORAGE !== 's3') return undefined;
  const problems: string[] = [];
  if (!e.RECORDINGS_S3_BUCKET) {
    problems.push('RECORDINGS_S3_BUCKET: required when RECORDINGS_STORAGE=s3');
  }
  const id = e.RECORDINGS_S3_ACCESS_KEY_ID;
  const secret = e.RECORDINGS_S3_SECRET_ACCESS_KEY;
  if (Boolean(id) !== Boolean(secret)) {
    problems.push(
      `${id ? 'RECORDINGS_S3_SECRET_ACCESS_KEY' : 'RECORDINGS_S3_ACCESS_KEY_ID'}: set both RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY, or neither (the AWS default credentials)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    endpoint: e.RECORDINGS_S3_ENDPOINT,
    bucket: e.RECORDINGS_S3_BUCKET!,
    region: e.RECORDINGS_S3_REGION,
    credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret } : undefined,
    prefix: e.RECORDINGS_S3_PREFIX,
    forcePathStyle: e.RECORDINGS_S3_FORCE_PATH_STYLE,
  };
}

/** The operator's list may widen the policy, never to one of the gateway's own secrets. */
function providerKeyPolicy(e: Env): ProviderKeyPolicy {
  const policy = providerKeyPolicyFrom({
    AGENT_PROVIDER_KEY_ENVS: e.AGENT_PROVIDER_KEY_ENVS,
    AGENT_PROVIDER_HOSTS: e.AGENT_PROVIDER_HOSTS,
  });
  const problems = policy.keyEnvs.flatMap((name) => {
    const problem = gatewaySecretEnvProblem(name);
    return problem ? [`AGENT_PROVIDER_KEY_ENVS: ${problem}`] : [];
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return policy;
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
