import { z } from 'zod';

/** Defaults of {@link BridgeOptions}; each is documented in docs/bridge.md. */
export const defaultBridgeOptions = {
  /** Lifetime of the JWT sent in the auth frame. Short: it only has to survive the handshake. */
  tokenTtlSeconds: 300,
  connectTimeoutMs: 5_000,
  /** Audio is dropped (and counted) while the socket's send buffer holds more than this. */
  maxBufferedMs: 1_000,
  /** Longest platform audio waiting to be played; more is dropped (and counted). */
  maxPlayoutSeconds: 120,
  /** LiveKit reports DTMF digits without their length, so `duration_ms` carries this value. */
  dtmfDurationMs: 100,
  /** A ping every so often; a ping still unanswered at the next one ends the socket. */
  pingIntervalMs: 15_000,
  /** Largest frame accepted from the platform (about 6 minutes of 16 kHz audio in base64). */
  maxFrameBytes: 16 * 1024 * 1024,
} as const;

export const defaultReconnectOptions = {
  /** Attempts in a row without a stable connection before the bridge gives up on the call. */
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  /** A connection open this long counts as stable: the attempt counter starts again at zero. */
  stableAfterMs: 10_000,
} as const;

const secret = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .refine((value) => Buffer.byteLength(value) >= 32, `${name} must be at least 32 bytes`);

export const reconnectOptionsSchema = z
  .object({
    maxAttempts: z.number().int().min(0).max(100).default(defaultReconnectOptions.maxAttempts),
    baseDelayMs: z.number().int().min(1).max(60_000).default(defaultReconnectOptions.baseDelayMs),
    maxDelayMs: z.number().int().min(1).max(300_000).default(defaultReconnectOptions.maxDelayMs),
    stableAfterMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(defaultReconnectOptions.stableAfterMs),
  })
  .strict();

export const bridgeOptionsSchema = z
  .object({
    /** The customer's WebSocket URL. */
    url: z
      .url({ error: 'url must be a ws:// or wss:// URL' })
      .refine((value) => /^wss?:\/\//i.test(value), 'url must be a ws:// or wss:// URL'),
    /** HS256 key of the JWT in `auth.token`. */
    jwtSecret: secret('jwtSecret'),
    /** HMAC-SHA256 key of `auth.signature`; must differ from jwtSecret. */
    hmacSecret: secret('hmacSecret'),
    /** Plain ws:// to a host that is not loopback sends the token unencrypted: refused unless true. */
    allowInsecure: z.boolean().default(false),
    tokenTtlSeconds: z
      .number()
      .int()
      .min(10)
      .max(3_600)
      .default(defaultBridgeOptions.tokenTtlSeconds),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(defaultBridgeOptions.connectTimeoutMs),
    maxBufferedMs: z.number().int().min(20).max(60_000).default(defaultBridgeOptions.maxBufferedMs),
    maxPlayoutSeconds: z.number().min(1).max(3_600).default(defaultBridgeOptions.maxPlayoutSeconds),
    dtmfDurationMs: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(defaultBridgeOptions.dtmfDurationMs),
    pingIntervalMs: z
      .number()
      .int()
      .min(1_000)
      .max(600_000)
      .default(defaultBridgeOptions.pingIntervalMs),
    maxFrameBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .default(defaultBridgeOptions.maxFrameBytes),
    reconnect: reconnectOptionsSchema.default(() => reconnectOptionsSchema.parse({})),
  })
  .strict()
  .refine((o) => o.jwtSecret !== o.hmacSecret, {
    message: 'hmacSecret must differ from jwtSecret',
    path: ['hmacSecret'],
  })
  .refine((o) => o.allowInsecure || isEncryptedOrLocal(o.url), {
    message: 'url must use wss:// unless it is a loopback address (or allowInsecure is set)',
    path: ['url'],
  });

/** ws:// is fine to a loopback host: the token never crosses a network there. */
function isEncryptedOrLocal(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'wss:') return true;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** What the worker passes in; every field but url and the two secrets has a default. */
export type BridgeOptions = z.input<typeof bridgeOptionsSchema>;
export type ResolvedBridgeOptions = z.output<typeof bridgeOptionsSchema>;

export const bridgeCallInfoSchema = z
  .object({
    /** Sent as `auth.call_id`, the JWT `sub` and `data.call_id` of every frame. */
    callId: z.string().min(1).max(256),
    conversationId: z.string().min(1).max(256),
    fromNumber: z.string().max(64),
    toNumber: z.string().max(64),
    direction: z.enum(['incoming', 'outgoing']),
    /** The phone leg's codec as far as the gateway knows it (e.g. PCMU, PCMA, G722, opus). */
    codec: z.string().min(1).max(32),
    /** The phone leg's sample rate; the audio sent to the platform is always 16 kHz. */
    sampleRate: z.number().int().min(8_000).max(48_000),
  })
  .strict();

export type BridgeCallInfo = z.infer<typeof bridgeCallInfoSchema>;

/** Thrown for bad options or call info; names the field that was wrong. */
export class BridgeConfigError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BridgeConfigError';
  }
}

function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : what;
  throw new BridgeConfigError(`invalid ${what}: ${field}: ${issue?.message ?? 'invalid'}`);
}

export function resolveBridgeOptions(input: BridgeOptions): ResolvedBridgeOptions {
  return parseOrThrow(bridgeOptionsSchema, input, 'bridge options');
}

export function parseCallInfo(input: BridgeCallInfo): BridgeCallInfo {
  return parseOrThrow(bridgeCallInfoSchema, input, 'call info');
}
