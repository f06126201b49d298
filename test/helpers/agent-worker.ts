import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { freeTcpPort } from '../../scripts/stack/ports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestAgentWorker {
  agentName: string;
  /** The worker's log lines so far (pino JSON). */
  logs(): string;
  /** Process ids of the job processes the worker forked (each runs at most one call). */
  jobProcesses(): number[];
  stop(): Promise<void>;
}

/**
 * The real agent worker (src/agent/main.ts) as a child process, registered with the shared
 * LiveKit under a name of its own, reporting to the test's gateway.
 */
export async function startAgentWorker(options: {
  gatewayUrl: string;
  agentName: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<TestAgentWorker> {
  const stack = inject('stack');
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'src/agent/main.ts')],
    {
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
        // The agents library reads port 0 as "unset" and takes 8081: give it a free one.
        AGENT_HTTP_PORT: String(await freeTcpPort()),
        AGENT_IDLE_PROCESSES: '1',
        LOG_LEVEL: 'info',
        ...options.env,
      },
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!output.includes('"registered worker"')) {
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 200, 'wait'))]);
    if (code !== 'wait') throw new Error(`agent worker exited (${String(code)}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`agent worker did not register in time:\n${output}`);
    }
  }
  return {
    agentName: options.agentName,
    logs: () => output,
    jobProcesses: () => {
      try {
        return execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        return [];
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
