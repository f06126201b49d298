import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BinaryInstallError, toolCacheRoot } from './binaries.js';
import { freeTcpPort } from './ports.js';
import { startProcess, waitUntil, type ManagedProcess } from './processes.js';

const run = promisify(execFile);

/**
 * versitygw (Apache-2.0): an S3 gateway over a POSIX folder, a real S3-compatible server for
 * the recordings tests. Each bucket is a folder under the root, each object a file.
 */
export const VERSITYGW = { module: 'github.com/versity/versitygw', version: 'v1.8.0' };

/** Beside the LiveKit builds, outside the repository: clones and CI on the machine reuse it. */
export function versitygwPath(): string {
  return path.join(toolCacheRoot(), 'versitygw', VERSITYGW.version, 'versitygw');
}

/** Returns the versitygw binary, building the pinned version with Go when it is missing. */
export async function ensureVersitygw(log: (line: string) => void = () => {}): Promise<string> {
  const binary = versitygwPath();
  if (existsSync(binary)) return binary;
  const what = `versitygw ${VERSITYGW.version}`;
  const dir = path.dirname(binary);
  mkdirSync(dir, { recursive: true });
  log(`building ${what} (first run only, about a minute)`);
  try {
    await run('go', ['install', `${VERSITYGW.module}/cmd/versitygw@${VERSITYGW.version}`], {
      env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 20 * 60 * 1000,
    });
  } catch (error) {
    const err = error as { stderr?: string; message: string; code?: string };
    if (err.code === 'ENOENT') throw new BinaryInstallError(what, 'Go is not installed');
    const tail = (err.stderr ?? err.message).trim().split('\n').slice(-15).join('\n');
    throw new BinaryInstallError(what, tail);
  }
  return binary;
}

export interface S3Server {
  /** http://127.0.0.1:<port>; path-style addressing. */
  endpoint: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder the buckets live in (each bucket a sub-folder). */
  root: string;
  process: ManagedProcess;
  /** Stops the server; its folder stays, so start() serves the same objects again. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (after stop()). */
  start(): Promise<void>;
}

/** versitygw on a free loopback port over a temporary folder, with generated root keys. */
export async function startS3Server(
  options: { port?: number; root?: string; logDir?: string } = {},
): Promise<S3Server> {
  const binary = await ensureVersitygw();
  const port = options.port ?? (await freeTcpPort());
  const root = options.root ?? mkdtempSync(path.join(os.tmpdir(), 'vg-s3-'));
  const logDir = options.logDir ?? mkdtempSync(path.join(os.tmpdir(), 'vg-s3-log-'));
  const accessKeyId = `vgtest${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const region = 'us-east-1';
  const endpoint = `http://127.0.0.1:${port}`;

  const launch = async () => {
    const proc = startProcess(
      'versitygw',
      binary,
      ['--port', `127.0.0.1:${port}`, '--region', region, '--quiet', 'posix', root],
      {
        logDir,
        // The root keys go through the environment, not the command line (ps shows that).
        env: {
          ...process.env,
          ROOT_ACCESS_KEY_ID: accessKeyId,
          ROOT_SECRET_ACCESS_KEY: secretAccessKey,
        },
      },
    );
    // Any HTTP answer (an unsigned request gets 403) means it listens.
    await waitUntil(
      `versitygw (log: ${proc.logFile})`,
      async () => (await fetch(endpoint, { signal: AbortSignal.timeout(1000) })).status > 0,
      { timeoutMs: 15_000, exited: proc.exited },
    );
    return proc;
  };

  const server: S3Server = {
    endpoint,
    port,
    region,
    accessKeyId,
    secretAccessKey,
    root,
    process: await launch(),
    stop: () => server.process.stop(),
    async start() {
      server.process = await launch();
    },
  };
  return server;
}
