import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EdgeRpc } from '../../src/edge/rpc.js';
import { writeEdgeConfig, type EdgeKamailioSettings } from '../../src/edge/kamailio-config.js';
import { freeTcpPort, freePortBlock } from './ports.js';
import { startProcess, waitUntil, type ManagedProcess } from './processes.js';

export interface KamailioProcess {
  process: ManagedProcess;
  configFile: string;
  stop(): Promise<void>;
}

/**
 * Runs kamailio in the foreground (-DD, logs on stderr) with a config file. `name` names the
 * log file; `ready` says when it answers.
 */
export async function runKamailio(
  name: string,
  configFile: string,
  options: { logDir: string; runDir: string; ready: () => Promise<boolean> },
): Promise<KamailioProcess> {
  mkdirSync(options.runDir, { recursive: true });
  const pidFile = path.join(options.runDir, 'kamailio.pid');
  await stopStale(pidFile, configFile);
  const proc = startProcess(
    name,
    'kamailio',
    ['-f', configFile, '-DD', '-E', '-Y', options.runDir, '-P', pidFile, '-m', '64', '-M', '8'],
    { logDir: options.logDir },
  );
  try {
    await waitUntil(`${name} (log: ${proc.logFile})`, options.ready, {
      timeoutMs: 15_000,
      exited: proc.exited,
    });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return { process: proc, configFile, stop: () => proc.stop() };
}

/**
 * A kamailio left running on this same config by a stack that was killed (SIGKILL skips our
 * shutdown) still holds the ports: stop it, but only if its command line names this config.
 */
async function stopStale(pidFile: string, configFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const cmdline = (() => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  })();
  if (!pid || !cmdline.includes(configFile)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 30 && existsSync(`/proc/${pid}`); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface EdgeProcess extends KamailioProcess {
  sipPort: number;
  rpcUrl: string;
  /** A JSON-RPC client holding the secret (what EDGE_RPC_SECRET must be). */
  rpc: EdgeRpc;
  settings: EdgeKamailioSettings;
}

/**
 * The SIP edge on loopback: free ports unless given, config rendered from
 * deploy/kamailio/edge.cfg, ready when its JSON-RPC answers.
 */
export async function startEdge(
  options: Partial<EdgeKamailioSettings> & {
    livekitHost: string;
    livekitPort: number;
    logDir?: string;
  },
): Promise<EdgeProcess> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'vg-edge-'));
  const sipPort = options.sipPort ?? (await freePortBlock(1));
  const rpcPort = options.rpcPort ?? (await freeTcpPort());
  const settings: EdgeKamailioSettings = {
    ...options,
    sipListenIp: options.sipListenIp ?? '127.0.0.1',
    sipPort,
    rpcIp: options.rpcIp ?? '127.0.0.1',
    rpcPort,
    // A fresh secret per start unless given (a restart on the same settings keeps it).
    rpcSecret: options.rpcSecret ?? randomBytes(24).toString('hex'),
    dir,
  };
  const configFile = writeEdgeConfig(settings);
  const rpcUrl = `http://${settings.rpcIp}:${rpcPort}/RPC`;
  const rpc = new EdgeRpc(rpcUrl, settings.rpcSecret, 1000);
  const started = await runKamailio('kamailio-edge', configFile, {
    logDir: options.logDir ?? dir,
    runDir: path.join(dir, 'run'),
    ready: async () => (await rpc.call<string>('core.version')).length > 0,
  });
  return { ...started, sipPort, rpcUrl, rpc, settings };
}
