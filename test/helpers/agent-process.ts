import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/config/paths.js';

export interface AgentProcess {
  pid: number;
  /** The worker's output so far (pino JSON lines), at most the last `keepOutput` characters. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts one real call host (src/callhost/main.ts, or the compiled dist/ one) as a child
 * process registered under `agentName`, and resolves once LiveKit has registered it. Used by
 * the tests and the benchmarks alike; they differ only in the stack they pass.
 */
export async function startAgentProcess(options: {
  livekit: { url: string; apiKey: string; apiSecret: string };
  gatewayUrl: string;
  agentName: string;
  env?: Record<string, string>;
  /** Node flags for the host, e.g. ['--import', file] (after tsx's own). */
  nodeArgs?: string[];
  compiled?: boolean;
  keepOutput?: number;
  onOutput?: (chunk: Buffer) => void;
  timeoutMs?: number;
  stopTimeoutMs?: number;
}): Promise<AgentProcess> {
  const root = packageRoot();
  const child = spawn(
    process.execPath,
    options.compiled
      ? [path.join(root, 'dist/src/callhost/main.js')]
      : [
          ...(process.env.BENCH_NODE_ARGS?.split(' ') ?? []),
          '--import',
          'tsx',
          ...(options.nodeArgs ?? []),
          path.join(root, 'src/callhost/main.ts'),
        ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LIVEKIT_URL: options.livekit.url,
        LIVEKIT_API_KEY: options.livekit.apiKey,
        LIVEKIT_API_SECRET: options.livekit.apiSecret,
        GATEWAY_API_URL: options.gatewayUrl,
        AGENT_NAME: options.agentName,
        LOG_LEVEL: 'info',
        ...options.env,
      },
    },
  );
  const keep = options.keepOutput ?? Infinity;
  let output = '';
  let registered = false;
  const onData = (d: Buffer) => {
    options.onOutput?.(d);
    output += d.toString();
    registered ||= output.includes('"registered worker"');
    if (output.length > keep) output = output.slice(-keep);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!registered) {
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 200, 'wait'))]);
    if (code !== 'wait') throw new Error(`call host exited (${String(code)}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`call host did not register in time:\n${output}`);
    }
  }
  return {
    pid: child.pid!,
    output: () => output,
    exited: () => child.exitCode !== null,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), options.stopTimeoutMs ?? 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
