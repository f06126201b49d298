import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SippRun {
  /** sipp's process id: its Call-IDs are `<n>-<pid>@<local address>`. */
  pid: number;
  /** Resolves with sipp's exit code (0: every call succeeded). */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): void;
}

/**
 * Runs sipp's built-in UAC against host:port, dialling `number` from `caller`, on loopback only.
 * It stops by itself after `timeoutSeconds`.
 */
export function sippCall(options: {
  host: string;
  port: number;
  number: string;
  caller?: string;
  calls?: number;
  timeoutSeconds?: number;
  extraArgs?: string[];
}): SippRun {
  const args = [
    '-sn',
    'uac',
    `${options.host}:${options.port}`,
    '-s',
    options.number,
    '-i',
    '127.0.0.1',
    '-p',
    '0',
    '-m',
    String(options.calls ?? 1),
    '-timeout',
    `${options.timeoutSeconds ?? 10}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    ...(options.caller ? ['-set', 'caller', options.caller] : []),
    ...(options.extraArgs ?? []),
  ];
  // sipp writes its error log into the working folder: keep it out of the repository.
  return runSipp(args, mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-')));
}

/** Runs sipp with `args` in `cwd`, collecting its output; `done` resolves when it exits. */
export function runSipp(args: string[], cwd: string): SippRun {
  const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.once('error', (error) => resolve({ code: -1, stdout, stderr: stderr + error.message }));
  });
  return { pid: child.pid ?? 0, done, stop: () => child.kill('SIGTERM') };
}
