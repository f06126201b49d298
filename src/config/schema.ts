import { z } from 'zod';

/** Where Debian's kamailio package keeps its modules. */
export const DEBIAN_KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';

export const port = z.coerce.number().int().min(0).max(65535);
/** A comma-separated list whose every entry matches `pattern`; empty: []. */
const list = (pattern: RegExp, what: string) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(pattern, `each entry is ${what}`)));
const perWindow = z.coerce.number().int().min(1).max(10_000_000);

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
  /**
   * Connections per process. `npm start` sets 1 for its embedded database: PGlite is a single
   * session, and queries of several connections would interleave in it.
   */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Folder for the embedded database, the generated encryption key and local-stack configs. */
  GATEWAY_DATA_DIR: z.string().min(1).default('.data'),
  /**
   * Marks every LiveKit object this gateway makes (trunks, dispatch rules); a reconcile touches
   * only objects carrying it. Unset: the database's own id (its installation row), which every
   * process on one database shares. Set it on a copy of a database that shares the LiveKit.
   */
  GATEWAY_INSTALLATION_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 letters, digits, dots, dashes or underscores')
    .optional(),
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
  /**
   * Total deadline of one delivery attempt (lookup, connection, the whole answer): a receiver
   * dripping bytes is cut then, and the attempt fails and is retried.
   */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().max(300_000).default(15000),
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
  /**
   * Calls the agents talk in at once across every worker (the agents' capacity), outbound ones
   * included: more inbound calls wait in the queue, more outbound ones get 429
   * (docs/call-control.md). Unset: no limit but the trunk's, number's and profile's.
   */
  CALLS_MAX_ACTIVE: z.coerce.number().int().min(1).max(100000).optional(),
  /** The agent worker's name: dispatch rules and outbound calls dispatch it explicitly. */
  AGENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default('voice-gateway-agent'),
  /** The API's internal listener the agent worker uses (default: http://INTERNAL_HOST:INTERNAL_PORT). */
  GATEWAY_API_URL: z.string().url().optional(),
  /** The listener of /internal/* (agent worker) and /metrics: keep it on loopback or a private net. */
  INTERNAL_HOST: z.string().min(1).default('127.0.0.1'),
  INTERNAL_PORT: port.default(8082),
  /** Extra worker variables a profile may name as api_key_env (comma-separated; docs/agents.md). */
  AGENT_PROVIDER_KEY_ENVS: z.string().optional(),
  /** Extra hosts a profile's base_url may send a provider key to (comma-separated hostnames). */
  AGENT_PROVIDER_HOSTS: z.string().optional(),
  /** Set by npm start: a weak LIVEKIT_API_SECRET is tolerated when LiveKit is on loopback. */
  GATEWAY_LOCAL_STACK: bool.default(false),
  /** The offline agent's YAML (default deploy/agent-offline.yaml): used when no profile is named. */
  AGENT_OFFLINE_PROFILE: z.string().optional(),
  /** Call host processes `npm start` (and `npm run agent`) runs; unset: one per core. */
  CALL_HOSTS: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * Calls one host takes at once; its load is its own calls over this, and a full host is
   * skipped by LiveKit. The default is what `npm run bench -- agent` held on one core.
   */
  CALL_HOST_CAPACITY: z.coerce.number().int().min(1).max(1000).default(10),
  /**
   * Longest a call host drains after SIGTERM (no new calls, waits for its calls to end). Then
   * it exits with calls still on: the supervisor frees their rooms and the API's agent recovery
   * sends each an agent on another host (docs/agents.md). Keep Kubernetes'
   * terminationGracePeriodSeconds above it.
   */
  CALL_HOST_DRAIN_SECONDS: z.coerce.number().int().min(1).max(86400).default(900),
  /** The call hosts' health HTTP port on 127.0.0.1 (GET / answers 200 once all registered). */
  AGENT_HTTP_PORT: port.min(1).default(8081),
  /** Where that port listens (GET /, /hosts, /metrics): 0.0.0.0 in a pod, for probes and scrapes. */
  AGENT_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** A WAV file (PCM) the caller hears while held; unset: a gentle tone melody made in code. */
  HOLD_MUSIC_FILE: z.string().min(1).optional(),
  /** Finished call recordings (default <GATEWAY_DATA_DIR>/recordings); the worker and the API share it. */
  RECORDINGS_DIR: z.string().min(1).optional(),
  /** The ffmpeg the call hosts convert recordings with (also what @livekit/agents reads). */
  LIVEKIT_FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  /** Seconds between sweeps that delete recordings past their retention; 0 disables. */
  RECORDINGS_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** Lifetime of the signed recording links sent in call.recording_ready webhooks. */
  RECORDING_LINK_TTL_SECONDS: z.coerce.number().int().min(60).max(2_592_000).default(604_800),
  /** Where finished recordings are kept: local (RECORDINGS_DIR) or s3 (an S3-compatible bucket). */
  RECORDINGS_STORAGE: z.enum(['local', 's3']).default('local'),
  /** The S3 API's URL (MinIO, Ceph, R2, versitygw...); unset: AWS S3 for the region. */
  RECORDINGS_S3_ENDPOINT: z.string().url().optional(),
  /** The bucket (it must exist); required with RECORDINGS_STORAGE=s3. */
  RECORDINGS_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 of a-z 0-9 . -)')
    .optional(),
  RECORDINGS_S3_REGION: z.string().min(1).default('us-east-1'),
  /** Both unset: the AWS SDK's default credentials (AWS_* variables, instance or pod role). */
  RECORDINGS_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  /** A secret: never logged, never returned by the API. */
  RECORDINGS_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Prepended to every object key: <prefix><call id>/<file>. */
  RECORDINGS_S3_PREFIX: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9!_.*'()/-]*$/, "letters, digits and !_.*'()/- only")
    .default('recordings/'),
  /** Path-style URLs (endpoint/bucket/key), which most self-hosted S3 servers need. */
  RECORDINGS_S3_FORCE_PATH_STYLE: bool.default(false),
  /** The API's public base URL, used in links sent to customers (default http://API_HOST:API_PORT). */
  API_PUBLIC_URL: z.string().url().optional(),
  /** Run the SIP edge supervisor: registrations with providers through Kamailio (docs/edge.md). */
  EDGE_ENABLED: bool.default(false),
  /** Kamailio's modules, as the edge config loads them (Debian's path by default). */
  KAMAILIO_MODULES_DIR: z.string().min(1).default(DEBIAN_KAMAILIO_MODULES),
  /** Kamailio's JSON-RPC (jsonrpcs over xhttp); keep it on loopback or a private network. */
  EDGE_RPC_URL: z.string().url().default('http://127.0.0.1:5090/RPC'),
  /** Shared secret the edge checks on every JSON-RPC call (X-Edge-Token); required with the edge. */
  EDGE_RPC_SECRET: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'at least 16 printable characters, no spaces')
    .optional(),
  /** host:port providers reach the edge at: the Contact of its REGISTERs. */
  EDGE_CONTACT_ADDRESS: z.string().min(1).default('127.0.0.1:5070'),
  /** The edge process (src/edge/main.ts, containers): the ip:port its SIP listens on. */
  EDGE_SIP_LISTEN: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/, 'ip:port, e.g. 0.0.0.0:5070')
    .default('127.0.0.1:5070'),
  /**
   * The edge process: LiveKit SIP's ip:port, where it relays calls (an IP address: docs/edge.md);
   * several instances comma-separated, new calls spread over those that answer its probes.
   */
  EDGE_LIVEKIT_SIP_ADDRESS: z
    .string()
    .regex(
      /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}(,(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5})*$/,
      'ip:port, or several comma-separated, e.g. 127.0.0.1:5060,127.0.0.1:5062',
    )
    .default('127.0.0.1:5060'),
  /** The edge process: seconds between its OPTIONS probes of each LiveKit SIP instance. */
  EDGE_LIVEKIT_PROBE_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** The address LiveKit SIP sees the edge's INVITEs come from; added to registering trunks. */
  EDGE_SOURCE_ADDRESS: z.string().min(1).default('127.0.0.1'),
  /** Seconds between the supervisor's checks of the edge's registrations. */
  EDGE_POLL_SECONDS: z.coerce.number().positive().default(5),
  /** Retry backoff after a failed registration: base, doubling, up to the max (seconds). */
  EDGE_RETRY_BASE_SECONDS: z.coerce.number().positive().default(30),
  EDGE_RETRY_MAX_SECONDS: z.coerce.number().positive().default(1800),
  /** Register every trunk without advisory locks: one gateway only (npm start, embedded DB). */
  EDGE_SOLE_INSTANCE: bool.default(false),
  /** Names this instance in trunk_registrations (default: hostname:pid). */
  EDGE_INSTANCE_ID: z.string().min(1).optional(),
  /** SIP users (docs/sip-users.md): the digest realm a new user gets unless it names one. */
  SIP_USERS_REALM: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,255}$/, 'a host name: letters, digits, dots and dashes')
    .default('sip.voice-gateway.local'),
  /** The domain phones register to (sip:<user>@<domain>); default: SIP_USERS_REALM. */
  SIP_USERS_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,255}$/, 'a host name: letters, digits, dots and dashes')
    .optional(),
  /** npm start's edge challenges SIP users with MD5 first (phones that read only the first). */
  EDGE_DIGEST_MD5_FIRST: bool.default(false),
  /** npm start's edge: the challenges, in order (overrides EDGE_DIGEST_MD5_FIRST); MD5 alone for baresip 1.0. */
  EDGE_DIGEST_ALGORITHMS: z
    .string()
    .regex(/^(SHA-256|MD5)(,(SHA-256|MD5))?$/, 'SHA-256, MD5, or both in order (SHA-256,MD5)')
    .optional(),
  /** Registration expiry phones are told to ask for (the edge bounds it, docs/sip-users.md). */
  SIP_USERS_REGISTER_EXPIRES: z.coerce.number().int().min(60).max(86400).default(3600),
  /** SIP status the edge answers a blocked caller with, unless the entry names one (docs/edge.md). */
  /**
   * SMS over SIP MESSAGE (docs/sms.md): where the gateway takes the MESSAGEs the edge admitted
   * (UDP). Keep it on loopback or a private network: the edge must reach it, nobody else.
   */
  SMS_SIP_HOST: z.string().min(1).default('127.0.0.1'),
  SMS_SIP_PORT: port.default(5092),
  /** One MESSAGE transaction with the provider gives up after this long (then retried). */
  SMS_SEND_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(8000),
  /** Delays before each retry of a MESSAGE answered 5xx, 408 or nothing; then it has failed. */
  SMS_RETRY_SCHEDULE: z.string().default('5s,30s,2m,10m,30m'),
  /** Earlier messages of a conversation a pipeline agent sees when it answers a text. */
  SMS_HISTORY_MESSAGES: z.coerce.number().int().min(0).max(100).default(10),
  BLOCKLIST_SIP_STATUS: z.coerce.number().int().min(400).max(699).default(603),
  /** Days call transcripts (personal data) are kept; then they are emptied. 0: forever. */
  CALL_TRANSCRIPT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(90),
  /** Days customer webhook messages, deliveries and attempt logs are kept. 0: forever. */
  WEBHOOK_DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(30),
  /** Days raw LiveKit webhooks (participants, numbers) are kept. 0: forever. */
  /** Days texts (SMS, personal data) are kept; a message still queued is never removed. 0: forever. */
  SMS_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(90),
  LIVEKIT_EVENT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36500).default(7),
  /** Seconds between retention sweeps (every API process runs one; they share the work); 0: never. */
  RETENTION_SWEEP_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
  /**
   * Toll fraud (docs/security.md): the global destination policy; a trunk's destination_policy
   * replaces each field it gives. E.164 prefixes numbers must start with; empty: any country.
   */
  DESTINATIONS_ALLOWED_PREFIXES: list(/^\+\d{1,15}$/, '+ and 1-15 digits'),
  /** Costly classes let through (refused by default): premium_rate, shared_cost, ... */
  DESTINATIONS_ALLOW_CLASSES: list(
    /^(premium_rate|shared_cost|personal_number|international_network)$/,
    'premium_rate, shared_cost, personal_number or international_network',
  ),
  /** Hosts sip: transfer targets may name besides the gateway's trunks' own. */
  DESTINATIONS_SIP_HOSTS: list(/^[A-Za-z0-9.:[\]-]{1,255}$/, 'a host name or IP address'),
  /** API rate limits (Redis at REDIS_URL, else per process); false turns every one off. */
  RATE_LIMIT_ENABLED: bool.default(true),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Requests per window per API key, and per source address on /api and the rest. */
  RATE_LIMIT_PER_KEY: perWindow.default(3000),
  RATE_LIMIT_PER_SOURCE: perWindow.default(6000),
  /** Per source on /internal and LiveKit's webhooks (call hosts and LiveKit: high volume). */
  RATE_LIMIT_INTERNAL_PER_SOURCE: perWindow.default(30000),
  /** Failed API-key checks per source in the window below; then every key from it gets 429. */
  RATE_LIMIT_AUTH_FAILURES: perWindow.default(30),
  RATE_LIMIT_AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** When true, the `pii` field of log lines (phone numbers, SIP URIs) is replaced. */
  LOG_REDACT_PII: bool.default(true),
});

export type Env = z.infer<typeof envSchema>;
