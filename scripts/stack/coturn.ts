import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/config/paths.js';
import { turnAllocate } from '../../src/turn/stun.js';
import { freePortBlock } from './ports.js';
import { startProcess, waitUntil, type ManagedProcess } from './processes.js';

/** Debian's libfaketime (package faketime), preloaded for a coturn whose clock is off. */
const LIBFAKETIME = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketime.so.1`;

export interface Coturn {
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The repository's config with the secret appended, in a directory only this user can read:
 * on the command line (--static-auth-secret) any local user would read it with `ps`.
 */
function configWithSecret(secret: string): { file: string; remove: () => void } {
  // A line break would start another coturn option.
  if (/[\r\n]/.test(secret)) throw new Error('the TURN secret must be one line');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-coturn-conf-'));
  const file = path.join(dir, 'turnserver.conf');
  const base = readFileSync(path.join(packageRoot(), 'coturn', 'turnserver.conf'), 'utf8');
  writeFileSync(file, `${base}\nstatic-auth-secret=${secret}\n`, { mode: 0o600 });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * coturn on loopback with the repository's coturn/turnserver.conf. The local stack and the
 * tests add only: loopback listening and relaying, no TLS, and 127.0.0.1 as an allowed peer
 * (the production config denies loopback peers; LiveKit runs on 127.0.0.1 here).
 */
export async function startCoturn(
  secret: string,
  options: {
    port?: number;
    logDir?: string;
    relayPorts?: [number, number];
    /** More turnserver flags, after ours. */
    extraArgs?: string[];
    /**
     * A clock offset for coturn, as libfaketime reads it (e.g. '+20m'): its own process with
     * LD_PRELOAD, not the `faketime` wrapper, which forks and would outlive stop().
     */
    clockOffset?: string;
  } = {},
): Promise<Coturn> {
  const base = options.port ?? (await freePortBlock(50));
  const port = base;
  const config = configWithSecret(secret);
  const proc = startProcess(
    'coturn',
    'turnserver',
    [
      '-c',
      config.file,
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${options.relayPorts?.[0] ?? base + 10}`,
      `--max-port=${options.relayPorts?.[1] ?? base + 49}`,
      '--no-tls',
      '--no-dtls',
      '--allow-loopback-peers',
      '--allowed-peer-ip=127.0.0.1',
      ...(options.extraArgs ?? []),
    ],
    {
      logDir: options.logDir ?? mkdtempSync(path.join(os.tmpdir(), 'vg-coturn-')),
      ...(options.clockOffset && {
        env: { ...process.env, LD_PRELOAD: LIBFAKETIME, FAKETIME: options.clockOffset },
      }),
    },
  );
  void proc.exited.then(config.remove);
  await waitUntil(
    `coturn (log: ${proc.logFile})`,
    async () =>
      (await turnAllocate('127.0.0.1', port, 'probe', 'probe', { timeoutMs: 500 })).status === 401,
    { timeoutMs: 10_000, exited: proc.exited },
  );
  return { port, process: proc, stop: () => proc.stop() };
}
