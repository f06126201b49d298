import type { StackPorts } from '../../scripts/stack/configs.js';

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

/** Carves a block of free loopback ports (see freePortBlock) into the stack's ports. */
export function stackPortsFrom(base: number): StackPorts {
  return {
    redis: base,
    livekit: base + 1,
    livekitTcp: base + 2,
    sip: base + 3,
    livekitUdpStart: base + 10,
    livekitUdpEnd: base + 79,
    rtpStart: base + 80,
    rtpEnd: base + 159,
  };
}
