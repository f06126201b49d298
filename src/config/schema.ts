import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every environment variable the gateway reads, with its default. `.env.example` is checked
 * against this schema by a test, so the two never drift.
 */
export const envSchema = z.object({
  /** PostgreSQL URL. Unset: an embedded PGlite database under GATEWAY_DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Folder for the embedded database, the generated encryption key and local-stack configs. */
  GATEWAY_DATA_DIR: z.string().min(1).default('.data'),
  /** 32 bytes, base64. Encrypts trunk passwords at rest. Required with DATABASE_URL. */
  GATEWAY_ENCRYPTION_KEY: z.string().optional(),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8080),
  /** Largest accepted JSON body. */
  API_BODY_LIMIT: z.string().default('256kb'),
  LIVEKIT_URL: z.string().url().default('http://127.0.0.1:7880'),
  LIVEKIT_API_KEY: z.string().min(1).default('devkey'),
  LIVEKIT_API_SECRET: z.string().min(1).default('secret'),
  /** Address providers send calls to (LiveKit SIP or the SIP edge), shown by /credentials. */
  SIP_PUBLIC_HOST: z.string().min(1).default('127.0.0.1'),
  SIP_PUBLIC_PORT: port.default(5060),
  /** Each LiveKit API call is abandoned after this long and the object left pending. */
  LIVEKIT_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** Seconds between periodic reconciles with LiveKit; 0 disables the timer. */
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
  /** repair: drift is reported and then fixed. report: drift is only reported. */
  RECONCILE_MODE: z.enum(['repair', 'report']).default('repair'),
  /** Largest LiveKit webhook accepted; larger ones get 413 and are not stored. */
  LIVEKIT_WEBHOOK_BODY_LIMIT: z.string().default('1mb'),
  /** Clock skew tolerated on LiveKit's webhook tokens. */
  LIVEKIT_WEBHOOK_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
  /** Seconds between checks of open call records against LiveKit's rooms; 0 disables. */
  CALLS_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
  /** Shared secret of coturn's use-auth-secret. Read once and normalised (trimmed, no CR/LF). */
  TURN_SECRET: z.string().optional(),
  /** Or a file holding it (Docker/Kubernetes secrets). TURN_SECRET wins when both are set. */
  TURN_SECRET_FILE: z.string().optional(),
  /** Host browsers reach the TURN server at (ICE server URIs). */
  TURN_HOST: z.string().min(1).default('127.0.0.1'),
  /** turn: over UDP and TCP. */
  TURN_PORT: port.default(3478),
  /** turns: (TLS) port, 5349 or 443 behind nginx; 0 leaves turns: out of the ICE servers. */
  TURNS_PORT: port.default(0),
  /** Lifetime of issued TURN credentials. */
  TURN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(3600),
  /** The LiveKit URL browsers connect to (wss:// in production); default: LIVEKIT_URL as ws://. */
  LIVEKIT_PUBLIC_URL: z.string().url().optional(),
  /** Lifetime of LiveKit tokens issued by POST /api/rooms/:room/join. */
  JOIN_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(3600),
  /** The livekit-server and livekit-sip configs the diagnostics read (default: the local stack's). */
  LIVEKIT_CONFIG_FILE: z.string().optional(),
  LIVEKIT_SIP_CONFIG_FILE: z.string().optional(),
  /** Redis for the customer-webhook job queue (BullMQ); the one LiveKit uses will do. */
  REDIS_URL: z.string().url().optional(),
  /** Each delivery attempt is abandoned after this long. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(10000),
  /** Delays between attempts, like Svix's: 5s,5m,30m,2h,5h,10h,10h (±20% jitter). */
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h,10h'),
  /** An endpoint failing for this long is disabled (and an endpoint.disabled event sent). */
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().positive().default(120),
  /** After a rotation the old secret keeps signing for this long. */
  WEBHOOK_SECRET_GRACE_HOURS: z.coerce.number().min(0).default(24),
  /** Allow deliveries to private, loopback and link-local addresses (tests, internal setups). */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.default(false),
  /** How long a worker holds a delivery before another may take it over (crash recovery). */
  WEBHOOK_JOB_LOCK_MS: z.coerce.number().int().min(500).default(30000),
  /** Signs per-call webhooks (POST /api/calls webhook_url); generated into the data folder if unset. */
  CALL_WEBHOOK_SECRET: z.string().startsWith('whsec_').optional(),
  /** The agent worker's name: dispatch rules and outbound calls dispatch it explicitly. */
  AGENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default('voice-gateway-agent'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** When true, the `pii` field of log lines (phone numbers, SIP URIs) is replaced. */
  LOG_REDACT_PII: bool.default(true),
});

export type Env = z.infer<typeof envSchema>;
