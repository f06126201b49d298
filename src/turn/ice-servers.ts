import { urlHost } from '../kernel/url-host.js';
import type { GatewayConfig } from '../config/index.js';
import { issueTurnCredentials, type TurnCredentials } from './credentials.js';

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** RTCIceServer entries for a browser: turn: over UDP and TCP, and turns: when TLS is served. */
export function iceServers(turn: GatewayConfig['turn'], credentials: TurnCredentials): IceServer[] {
  const host = urlHost(turn.host);
  const urls = [
    `turn:${host}:${turn.port}?transport=udp`,
    `turn:${host}:${turn.port}?transport=tcp`,
  ];
  if (turn.tlsPort > 0) urls.push(`turns:${host}:${turn.tlsPort}?transport=tcp`);
  return [{ urls, username: credentials.username, credential: credentials.credential }];
}

export function turnFor(turn: GatewayConfig['turn'], user: string) {
  if (!turn.secret) return undefined;
  const credentials = issueTurnCredentials(turn.secret, user, turn.ttlSeconds);
  return { credentials, iceServers: iceServers(turn, credentials) };
}
