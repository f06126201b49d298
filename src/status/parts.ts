import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SeenHost } from '../agent-api/index.js';
import type { GatewayConfig } from '../config/index.js';
import { packageRoot } from '../config/paths.js';
import { sql, type Db } from '../db/index.js';
import { EdgeRpcError, type EdgeRpc } from '../edge/index.js';
import { sipOptions } from '../livekit/index.js';
import { redisInfo } from './redis-info.js';

const PROBE_TIMEOUT_MS = 2000;

/** One part of the stack: up, down (with why), or not part of this deployment. */
export interface PartStatus {
  status: 'up' | 'down' | 'disabled';
  version?: string | null;
  error?: string;
  latency_ms?: number;
  [detail: string]: unknown;
}

const started = Date.now();
let gatewayVersion: string | undefined;

function ownVersion(): string {
  gatewayVersion ??= (
    JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  return gatewayVersion;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs a probe, timing it; a throw is the part being down. */
async function probe(run: () => Promise<PartStatus>): Promise<PartStatus> {
  const at = Date.now();
  try {
    return { ...(await run()), latency_ms: Date.now() - at };
  } catch (error) {
    return { status: 'down', error: message(error), latency_ms: Date.now() - at };
  }
}

export function gatewayPart(): PartStatus {
  return {
    status: 'up',
    version: ownVersion(),
    node: process.version,
    uptime_seconds: Math.round((Date.now() - started) / 1000),
  };
}

export function databasePart(db: Db, kind: 'postgres' | 'embedded'): Promise<PartStatus> {
  return probe(async () => {
    const { rows } = await sql<{ version: string }>`SELECT version() AS version`.execute(db);
    const version = /PostgreSQL ([\d.]+)/.exec(rows[0]?.version ?? '')?.[1] ?? null;
    return { status: 'up', kind, version };
  });
}

export function redisPart(url: string | undefined): Promise<PartStatus> {
  if (!url) return Promise.resolve({ status: 'disabled' });
  return probe(async () => {
    const info = await redisInfo(url, PROBE_TIMEOUT_MS);
    return { status: 'up', version: info.redis_version ?? null };
  });
}

/**
 * LiveKit's health answer ("OK" at its root). Its version is not in any HTTP answer; the call
 * hosts read it from LiveKit's answer to their registration and report it in their beats.
 */
export function livekitPart(config: GatewayConfig, hosts: SeenHost[]): Promise<PartStatus> {
  const version = hosts.find((h) => h.livekit_server_version)?.livekit_server_version ?? null;
  return probe(async () => {
    const url = config.livekit.url.replace(/^ws/, 'http');
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`LiveKit answered HTTP ${response.status} at ${url}`);
    return { status: 'up', version, url };
  });
}

/** LiveKit SIP answers OPTIONS; it names no version (nor a Server header) in the answer. */
export function sipPart(config: GatewayConfig): Promise<PartStatus> {
  const { host, port } = config.sipPublic;
  return probe(async () => {
    const answer = await sipOptions(host, port, { timeoutMs: PROBE_TIMEOUT_MS });
    return {
      status: 'up',
      version: null,
      answer: `${answer.status} ${answer.reason}`,
      address: `${host}:${port}`,
    };
  });
}

/** The SIP edge (Kamailio) over its JSON-RPC; an RPC error still means it answered. */
export function edgePart(config: GatewayConfig, rpc: EdgeRpc | undefined): Promise<PartStatus> {
  if (!config.edge.enabled || !rpc) return Promise.resolve({ status: 'disabled' });
  return probe(async () => {
    try {
      const version = await rpc.call<string>('core.version');
      return { status: 'up', version: /kamailio ([\d.]+)/i.exec(version)?.[1] ?? version };
    } catch (error) {
      if (error instanceof EdgeRpcError && error.code !== 0 && error.code !== 401) {
        return { status: 'up', version: null };
      }
      throw error;
    }
  });
}

/** Up while at least one host that beat lately is registered with LiveKit and taking calls. */
export function callHostsPart(hosts: SeenHost[]): PartStatus {
  const taking = hosts.filter((h) => h.registered && !h.draining);
  return {
    status: taking.length > 0 ? 'up' : 'down',
    ...(taking.length === 0 && {
      error:
        hosts.length === 0
          ? 'no call host has reported in the last 15 s'
          : 'no call host takes calls (none registered, or all draining)',
    }),
    version: hosts[0]?.version ?? null,
    hosts: hosts.map((h) => ({
      host_id: h.host_id,
      agent_name: h.agent_name,
      registered: h.registered,
      draining: h.draining,
      active_calls: h.active_calls,
      capacity: h.capacity,
      version: h.version,
      seen_at: h.seen_at,
    })),
  };
}
