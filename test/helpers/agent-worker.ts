import { inject } from 'vitest';
import { startAgentProcess } from './agent-process.js';

export interface TestAgentWorker {
  agentName: string;
  /** The host process's id (all its calls run in it). */
  pid: number;
  /** The host's log lines so far (pino JSON). */
  logs(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * One real call host (src/callhost/main.ts) as a child process, registered with the shared
 * LiveKit under a name of its own, reporting to the test's gateway.
 */
export async function startAgentWorker(options: {
  gatewayUrl: string;
  agentName: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<TestAgentWorker> {
  const stack = inject('stack');
  const worker = await startAgentProcess({
    livekit: { url: stack.livekitUrl, apiKey: stack.apiKey, apiSecret: stack.apiSecret },
    gatewayUrl: options.gatewayUrl,
    agentName: options.agentName,
    env: { LOG_LEVEL: 'info', ...options.env },
    nodeArgs: options.nodeArgs,
    timeoutMs: options.timeoutMs,
  });
  return {
    agentName: options.agentName,
    pid: worker.pid,
    logs: worker.output,
    exited: worker.exited,
    stop: worker.stop,
  };
}
