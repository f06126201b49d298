export interface StackInfo {
  livekitUrl: string;
  redisAddress: string;
  sipHost: string;
  sipPort: number;
  apiKey: string;
  apiSecret: string;
  logDir: string;
  livekitWsUrl: string;
  /** The port LiveKit sends webhooks to (POST /webhooks/livekit). */
  webhookPort: number;
}
