export interface StackInfo {
  livekitUrl: string;
  redisAddress: string;
  sipHost: string;
  sipPort: number;
  apiKey: string;
  apiSecret: string;
  logDir: string;
  livekitWsUrl: string;
  /** Where the stack's livekit.yaml and livekit-sip.yaml are. */
  configDir: string;
  /** The port LiveKit sends webhooks to (POST /webhooks/livekit). */
  webhookPort: number;
}
