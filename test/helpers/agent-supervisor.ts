import { spawn } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import { packageRoot } from '../../src/config/paths.js';
import { freeTcpPort } from '../../scripts/stack/ports.js';
import { eventually } from './wait.js';

export interface HostInfo {
  index: number;
  pid: number | null;
  registered: boolean;
  activeCalls: number;
}

export interface TestSupervisor {
  hosts(): Promise<HostInfo[]>;
  /** The supervisor's /metrics: every host's metrics, summed. */
  metricsUrl: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * `npm run agent` as the stack runs it: the supervisor (src/agent/main.ts) with `hosts` call
 * host processes, resolved once every host is registered (its health port answers 200).
 */
export async function startSupervisor(options: {
  gatewayUrl: string;
  agentName: string;
  hosts: number;
  env?: Record<string, string>;
}): Promise<TestSupervisor> {
  const stack = inject('stack');
  const root = packageRoot();
  const port = await freeTcpPort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/agent/main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LIVEKIT_URL: stack.livekitUrl,
      LIVEKIT_API_KEY: stack.apiKey,
      LIVEKIT_API_SECRET: stack.apiSecret,
      GATEWAY_API_URL: options.gatewayUrl,
      AGENT_NAME: options.agentName,
      AGENT_HTTP_PORT: String(port),
      CALL_HOSTS: String(options.hosts),
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const up = await eventually(async () => {
    if (child.exitCode !== null) return false;
    const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    return res?.ok ? true : undefined;
  }, 90_000);
  if (!up) {
    await stop();
    throw new Error(`the call hosts did not come up:\n${output.slice(-3000)}`);
  }
  return {
    hosts: async () => (await (await fetch(`http://127.0.0.1:${port}/hosts`)).json()) as HostInfo[],
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    logs: () => output,
    stop,
  };
}
