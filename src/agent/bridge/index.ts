export { runBridgeSession, AGENT_TRACK_NAME, AGENT_SAMPLE_RATE } from './session.js';
export type {
  BridgeSession,
  BridgeSessionEvents,
  BridgeSessionOptions,
  BridgeSessionStats,
} from './session.js';
export {
  AiPlatformBridge,
  CLOSE_CODE_REFUSED,
  PLATFORM_FRAME_SAMPLES,
  PLATFORM_SAMPLE_RATE,
} from './platform-bridge.js';
export type {
  BridgeEvents,
  BridgeState,
  BridgeStats,
  MachineVerdict,
  PlatformResponse,
} from './platform-bridge.js';
export type { TransferFailure } from './messages.js';
export {
  BridgeConfigError,
  defaultBridgeOptions,
  defaultReconnectOptions,
  resolveBridgeOptions,
} from './options.js';
export type { BridgeCallInfo, BridgeOptions, ResolvedBridgeOptions } from './options.js';
export { createAuthFrame, signAuth, JWT_ISSUER } from './auth.js';
export type { AuthFrame } from './auth.js';
export { bridgeOptionsFromProfile } from './from-profile.js';
export type { BridgeProfileSettings } from './from-profile.js';
export { reconnectDelayMs } from './backoff.js';
