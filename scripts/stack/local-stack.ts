import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sipOptions } from '../../src/livekit/sip-options.js';
import { ensureLivekitBinaries } from './binaries.js';
import { startCoturn } from './coturn.js';
import {
  renderLivekitServerConfig,
  renderLivekitSipConfig,
  writeConfig,
  type StackKeys,
  type StackPorts,
} from './configs.js';
import { startProcess, waitUntil, type ManagedProcess } from './processes.js';

export interface LocalStackOptions {
  root: string;
  /** Configs and logs go under `<dataDir>/stack`. */
  dataDir: string;
  ports: StackPorts;
  keys: StackKeys;
  /** Use this Redis instead of starting one (host:port). */
  redisAddress?: string;
  webhookUrls?: string[];
  /** Start coturn on this port with this secret, and tell LiveKit about it. */
  turn?: { port: number; secret: string; relayPorts?: [number, number] };
  log?: (line: string) => void;
}

export interface LocalStack {
  livekitUrl: string;
  livekitWsUrl: string;
  redisAddress: string;
  sipHost: string;
  sipPort: number;
  keys: StackKeys;
  ports: StackPorts;
  logDir: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/** The local stack's LiveKit key pair: generated once per data folder, kept there. */
export function localStackKeys(dataDir: string): StackKeys {
  const file = path.join(dataDir, 'livekit-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StackKeys;
  mkdirSync(dataDir, { recursive: true });
  const keys = {
    apiKey: `API${randomBytes(6).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return response.ok;
}

async function redisPing(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  const { createConnection } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port: Number(port) });
    socket.setTimeout(1000, () => {
      socket.destroy();
      reject(new Error('redis ping timed out'));
    });
    socket.once('error', reject);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.end();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

/**
 * Starts Redis (unless one is given), livekit-server and livekit-sip on loopback and waits until
 * each answers: Redis PING, livekit-server's HTTP root, LiveKit SIP's SIP OPTIONS. On failure
 * everything already started is stopped and the error names the process and its log file.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const binaries = await ensureLivekitBinaries(log);
  const stackDir = path.join(options.dataDir, 'stack');
  const logDir = path.join(stackDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const { ports, keys } = options;
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    for (const proc of [...processes].reverse()) await proc.stop();
  };
  try {
    let redisAddress = options.redisAddress;
    if (!redisAddress) {
      redisAddress = `127.0.0.1:${ports.redis}`;
      const redis = startProcess(
        'redis',
        'redis-server',
        ['--bind', '127.0.0.1', '--port', String(ports.redis), '--save', '', '--appendonly', 'no'],
        { logDir },
      );
      processes.push(redis);
      await waitUntil(`redis (log: ${redis.logFile})`, () => redisPing(redisAddress!), {
        timeoutMs: 10_000,
        exited: redis.exited,
      });
    }
    if (options.turn) {
      const coturn = await startCoturn(options.turn.secret, {
        port: options.turn.port,
        relayPorts: options.turn.relayPorts,
        logDir,
      });
      processes.push(coturn.process);
    }
    const serverConfig = writeConfig(
      path.join(stackDir, 'livekit.yaml'),
      renderLivekitServerConfig(options.root, ports, keys, redisAddress, {
        webhookUrls: options.webhookUrls,
        turn: options.turn
          ? { host: '127.0.0.1', port: options.turn.port, secret: options.turn.secret }
          : undefined,
      }),
    );
    const server = startProcess('livekit-server', binaries.server, ['--config', serverConfig], {
      logDir,
    });
    processes.push(server);
    const livekitUrl = `http://127.0.0.1:${ports.livekit}`;
    await waitUntil(`livekit-server (log: ${server.logFile})`, () => httpOk(livekitUrl), {
      timeoutMs: 30_000,
      exited: server.exited,
    });
    const sipConfig = writeConfig(
      path.join(stackDir, 'livekit-sip.yaml'),
      renderLivekitSipConfig(options.root, ports, keys, redisAddress),
    );
    const sip = startProcess('livekit-sip', binaries.sip, ['--config', sipConfig], { logDir });
    processes.push(sip);
    await waitUntil(
      `livekit-sip (log: ${sip.logFile})`,
      async () => (await sipOptions('127.0.0.1', ports.sip, { timeoutMs: 500 })).status === 200,
      { timeoutMs: 30_000, exited: sip.exited },
    );
    return {
      livekitUrl,
      livekitWsUrl: `ws://127.0.0.1:${ports.livekit}`,
      redisAddress,
      sipHost: '127.0.0.1',
      sipPort: ports.sip,
      keys,
      ports,
      logDir,
      processes,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
