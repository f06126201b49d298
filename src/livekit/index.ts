import { RoomServiceClient } from 'livekit-server-sdk';
import type { GatewayConfig } from '../config/index.js';
import { GatewaySipClient } from './sip-client.js';

export { LivekitError, livekitCall, toLivekitError, type LivekitFailureKind } from './errors.js';
export { GatewaySipClient } from './sip-client.js';
export { livekitErrorCode, livekitGatewayError, type LivekitErrorCode } from './gateway-error.js';
export { sipOptions, type SipOptionsResult } from './sip-options.js';

export interface LivekitClients {
  sip: GatewaySipClient;
  rooms: RoomServiceClient;
}

export function createLivekitClients(config: Pick<GatewayConfig, 'livekit'>): LivekitClients {
  const { url, apiKey, apiSecret, timeoutMs } = config.livekit;
  const timeoutSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  return {
    sip: new GatewaySipClient(url, apiKey, apiSecret, timeoutSeconds),
    rooms: new RoomServiceClient(url, apiKey, apiSecret, {
      requestTimeout: timeoutSeconds,
      failover: false,
    }),
  };
}
