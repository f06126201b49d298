import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type YamlMap = Record<string, unknown>;

export interface LoadedConfig {
  path: string;
  /** Undefined when the file is missing or not a YAML mapping; `error` says which. */
  doc?: YamlMap;
  error?: string;
}

export function loadYaml(path: string): LoadedConfig {
  if (!existsSync(path)) return { path, error: `${path} does not exist` };
  try {
    const doc = parse(readFileSync(path, 'utf8')) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      return { path, error: `${path} is not a YAML mapping` };
    }
    return { path, doc: doc as YamlMap };
  } catch (error) {
    return { path, error: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function redisOf(doc: YamlMap): string {
  const redis = (doc.redis ?? {}) as YamlMap;
  const address = typeof redis.address === 'string' ? redis.address : '';
  const db = typeof redis.db === 'number' ? redis.db : 0;
  return address ? `${address.replace(/^localhost:/, '127.0.0.1:')}/${db}` : '';
}

/** "10000-20000" or { start, end } into [start, end]. */
export function range(value: unknown): [number, number] | undefined {
  if (typeof value === 'string') {
    const m = /^(\d+)-(\d+)$/.exec(value.trim());
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  }
  if (value && typeof value === 'object') {
    const v = value as YamlMap;
    if (typeof v.start === 'number' && typeof v.end === 'number') return [v.start, v.end];
  }
  return undefined;
}

/** Top-level keys LiveKit SIP v1.8 reads (pkg/config/config.go); any other is ignored. */
export const sipKeys = new Set(
  'api_key api_secret ws_url redis health_port prometheus_port pprof_port sip_port sip_port_listen sip_hostname outbound_route_headers sip_ringing_interval tcp tls rtp_port logging cluster_id max_cpu_utilization max_active_calls sip_trunk_ids use_external_ip local_net nat_1_to_1_ip listen_ip udp_max_payload media_use_external_ip media_nat_1_to_1_ip media_timeout media_timeout_initial symmetric_rtp rtp_draining_idle_timeout rtp_draining_duration ignore_local_addr_in_sdp codecs hide_inbound_port disable_rejected_invite_cache add_record_route audio_dtmf enable_jitter_buffer enable_jitter_buffer_prob jaeger_url experimental dial_port'.split(
    ' ',
  ),
);

/** Top-level keys livekit-server v1.13 reads (pkg/config/config.go). */
export const serverKeys = new Set(
  'port bind_addresses prometheus_port prometheus debug_handler rtc redis audio video room turn ingress sip webhook node_selector key_file keys region signal_relay psrpc log_level logging limit agents development metric trace node_stats enable_data_tracks enable_participant_data_blob api'.split(
    ' ',
  ),
);
