import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

export interface StackPorts {
  redis: number;
  livekit: number;
  livekitTcp: number;
  /** First of the UDP media ports livekit-server uses. */
  livekitUdpStart: number;
  livekitUdpEnd: number;
  sip: number;
  rtpStart: number;
  rtpEnd: number;
}

export interface StackKeys {
  apiKey: string;
  apiSecret: string;
}

function readTemplate(root: string, file: string): Record<string, unknown> {
  const doc = parse(readFileSync(path.join(root, file), 'utf8')) as unknown;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new Error(`${file}: expected a YAML mapping at the top level`);
  }
  return doc as Record<string, unknown>;
}

/** deploy/livekit.yaml with the local stack's ports, keys and Redis. */
export function renderLivekitServerConfig(
  root: string,
  ports: StackPorts,
  keys: StackKeys,
  redisAddress: string,
  extra: { webhookUrls?: string[]; turn?: { host: string; port: number; secret: string } } = {},
): string {
  const config = readTemplate(root, 'deploy/livekit.yaml');
  const rtc = (config.rtc ?? {}) as Record<string, unknown>;
  config.port = ports.livekit;
  config.bind_addresses = ['127.0.0.1'];
  config.redis = { address: redisAddress };
  config.rtc = {
    ...rtc,
    port_range_start: ports.livekitUdpStart,
    port_range_end: ports.livekitUdpEnd,
    tcp_port: ports.livekitTcp,
    // On loopback (the stack's coturn when there is one): LiveKit's defaults are public hosts.
    stun_servers: [`127.0.0.1:${extra.turn?.port ?? ports.livekitUdpStart}`],
  };
  config.keys = { [keys.apiKey]: keys.apiSecret };
  if (extra.turn) {
    // LiveKit hands these to its own clients: the same coturn and secret the API's credentials use.
    (config.rtc as Record<string, unknown>).turn_servers = [
      { host: extra.turn.host, port: extra.turn.port, protocol: 'udp', secret: extra.turn.secret },
      { host: extra.turn.host, port: extra.turn.port, protocol: 'tcp', secret: extra.turn.secret },
    ];
  }
  if (extra.webhookUrls?.length) {
    config.webhook = { api_key: keys.apiKey, urls: extra.webhookUrls };
  }
  return stringify(config);
}

/** livekit-sip.yaml with the local stack's ports, keys and Redis. */
export function renderLivekitSipConfig(
  root: string,
  ports: StackPorts,
  keys: StackKeys,
  redisAddress: string,
): string {
  const config = readTemplate(root, 'livekit-sip.yaml');
  config.api_key = keys.apiKey;
  config.api_secret = keys.apiSecret;
  config.ws_url = `ws://127.0.0.1:${ports.livekit}`;
  config.redis = { address: redisAddress };
  config.sip_port = ports.sip;
  config.rtp_port = `${ports.rtpStart}-${ports.rtpEnd}`;
  return stringify(config);
}

export function writeConfig(file: string, content: string): string {
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}
