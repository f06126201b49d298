import { z } from 'zod';
import { ConfigError } from './index.js';
import { envSchema, port, type Env } from './schema.js';

const address = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port ([v6]:port for IPv6)');

/**
 * The variables only `npm start` and `npm run cluster` read: the ports of the local stack they
 * run on loopback and where its binaries are cached. The gateway's own processes read envSchema;
 * `.env.example` documents both, and a test holds it to their names and defaults.
 */
export const stackEnvSchema = z.object({
  REDIS_PORT: port.default(6380),
  /** An already running Redis (host:port) instead of one started by the stack. */
  REDIS_ADDRESS: address.optional(),
  LIVEKIT_PORT: port.default(7880),
  LIVEKIT_TCP_PORT: port.default(7881),
  LIVEKIT_UDP_START: port.default(50000),
  LIVEKIT_UDP_END: port.default(50100),
  /** LiveKit SIP's signalling port, and its RTP range. */
  SIP_PORT: port.default(5060),
  RTP_PORT_START: port.default(10000),
  RTP_PORT_END: port.default(10100),
  /** coturn's relay ports. */
  TURN_RELAY_START: port.default(49152),
  TURN_RELAY_END: port.default(49200),
  /** The SIP edge's SIP and JSON-RPC ports. */
  EDGE_SIP_PORT: port.default(5070),
  EDGE_RPC_PORT: port.default(5090),
  /** Where LiveKit and versitygw builds are kept; unset: ~/.cache/voice-gateway. */
  LIVEKIT_BIN_CACHE: z.string().min(1).optional(),
});
export type StackEnv = z.infer<typeof stackEnvSchema>;

export interface StackSettings {
  /** The gateway's variables, parsed, with defaults. */
  gateway: Env;
  /** The stack's own variables, parsed, with defaults. */
  stack: StackEnv;
  /** Whether a variable was set (npm start picks its own value for some that are not). */
  isSet: (name: keyof Env | keyof StackEnv) => boolean;
}

/** Both schemas over the environment; a bad value is refused, naming the variable. */
export function readStackEnv(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const problems: string[] = [];
  const gateway = envSchema.safeParse(present);
  const stack = stackEnvSchema.safeParse(present);
  for (const issue of [...(gateway.error?.issues ?? []), ...(stack.error?.issues ?? [])]) {
    problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  if (!gateway.success || !stack.success) throw new ConfigError(problems);
  return {
    gateway: gateway.data,
    stack: stack.data,
    isSet: (name) => name in present,
  };
}
