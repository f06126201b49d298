import { execFileSync } from 'node:child_process';
import { inject } from 'vitest';
import { startAgentProcess } from './agent-process.js';

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
  const worker = await startAgentProcess({
    livekit: { url: stack.livekitUrl, apiKey: stack.apiKey, apiSecret: stack.apiSecret },
    gatewayUrl: options.gatewayUrl,
    agentName: options.agentName,
    // debug: the job runner's "initialized" line says when the warm process can take a call.
    env: { AGENT_IDLE_PROCESSES: '1', LOG_LEVEL: 'debug', ...options.env },
    timeoutMs: options.timeoutMs,
  });
  // On a busy machine the warm job process takes a while to load: calls wait until it is ready.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!worker.output().includes('job runner initialized')) {
    if (Date.now() > deadline || worker.exited()) {
      await worker.stop();
      throw new Error(
        `the worker's job process never became ready:\n${worker.output().slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    agentName: options.agentName,
    logs: worker.output,
    jobProcesses: () => {
      try {
        return execFileSync('pgrep', ['-P', String(worker.pid)], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        return [];
      }
    },
    stop: worker.stop,
  };
}
