import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited (SIGTERM, then SIGKILL after the grace period). */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts a child whose stdout and stderr go to `<logDir>/<name>.log`. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: {
    logDir: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    onLine?: (line: string) => void;
  },
): ManagedProcess {
  mkdirSync(options.logDir, { recursive: true });
  const logFile = path.join(options.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  if (options.onLine) {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      log.end();
      resolve(code);
    });
    child.once('error', (error) => {
      log.write(`failed to start: ${error.message}\n`);
      log.end();
      resolve(-1);
    });
  });
  return {
    name,
    child,
    logFile,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `check` until it returns true, or throws after `timeoutMs` with `what` and the last error. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; exited?: Promise<unknown> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  let gone = false;
  void options.exited?.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${what}: the process exited before it became ready`);
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
  throw new Error(
    `${what}: not ready after ${options.timeoutMs} ms${lastError ? ` (${lastError})` : ''}`,
  );
}
