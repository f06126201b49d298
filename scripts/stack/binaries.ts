import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readStackEnv } from '../../src/config/stack-env.js';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Pinned LiveKit versions. livekit-sip is pinned to the newest release the Go module proxy
 * serves here (later tags answer 403); it speaks the same psrpc protocol as server v1.13.
 */
export const LIVEKIT_SERVER = { module: 'github.com/livekit/livekit-server', version: 'v1.13.5' };
export const LIVEKIT_SIP = { module: 'github.com/livekit/sip', version: 'v1.8.0' };
const SIP_CGO_PACKAGES = ['pkg-config', 'libopus-dev', 'libopusfile-dev', 'libsoxr-dev'];

export interface LivekitBinaries {
  server: string;
  sip: string;
}

export class BinaryInstallError extends Error {
  constructor(what: string, detail: string) {
    super(`cannot install ${what}: ${detail}`);
    this.name = 'BinaryInstallError';
  }
}

/**
 * Where the tools built with Go are kept (LIVEKIT_BIN_CACHE; unset: ~/.cache/voice-gateway):
 * outside the repository, so fresh clones and CI on the same machine reuse the builds.
 */
export function toolCacheRoot(): string {
  return (
    readStackEnv().stack.LIVEKIT_BIN_CACHE ?? path.join(os.homedir(), '.cache', 'voice-gateway')
  );
}

export function binaryCacheDir(): string {
  return path.join(
    toolCacheRoot(),
    'livekit',
    `server-${LIVEKIT_SERVER.version}_sip-${LIVEKIT_SIP.version}`,
  );
}

async function goEnv(name: string): Promise<string> {
  const { stdout } = await run('go', ['env', name]);
  return stdout.trim();
}

async function build(
  args: string[],
  cwd: string | undefined,
  env: NodeJS.ProcessEnv,
  what: string,
) {
  try {
    await run('go', args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60 * 1000 });
  } catch (error) {
    const err = error as { stderr?: string; message: string };
    const tail = (err.stderr ?? err.message).trim().split('\n').slice(-15).join('\n');
    throw new BinaryInstallError(what, tail);
  }
}

async function missingDebPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of SIP_CGO_PACKAGES) {
    try {
      await run('dpkg-query', ['-W', '-f=${Status}', pkg]);
    } catch {
      missing.push(pkg);
    }
  }
  return missing;
}

/**
 * Returns the LiveKit binaries, building the pinned versions with Go when they are missing.
 * livekit-sip is built from the downloaded module rather than with `go install`, because
 * `go install` also asks the proxy for the module's version list, which is refused here.
 */
export async function ensureLivekitBinaries(
  log: (line: string) => void = () => {},
): Promise<LivekitBinaries> {
  const dir = binaryCacheDir();
  const binaries = { server: path.join(dir, 'server'), sip: path.join(dir, 'livekit-sip') };
  const marker = path.join(dir, 'versions.json');
  const wanted = JSON.stringify({ server: LIVEKIT_SERVER.version, sip: LIVEKIT_SIP.version });
  if (
    existsSync(binaries.server) &&
    existsSync(binaries.sip) &&
    existsSync(marker) &&
    readFileSync(marker, 'utf8') === wanted
  ) {
    return binaries;
  }
  mkdirSync(dir, { recursive: true });
  try {
    await run('go', ['version']);
  } catch {
    throw new BinaryInstallError(
      'LiveKit',
      'Go is not installed (needed to build livekit-server and livekit-sip)',
    );
  }
  const env = { ...process.env, GOBIN: dir, CGO_ENABLED: '1' };
  if (!existsSync(binaries.server)) {
    log(`building livekit-server ${LIVEKIT_SERVER.version} (first run only, a few minutes)`);
    await build(
      ['install', `${LIVEKIT_SERVER.module}/cmd/server@${LIVEKIT_SERVER.version}`],
      undefined,
      env,
      `livekit-server ${LIVEKIT_SERVER.version}`,
    );
  }
  if (!existsSync(binaries.sip)) {
    const missing = await missingDebPackages();
    if (missing.length > 0) {
      throw new BinaryInstallError(
        `livekit-sip ${LIVEKIT_SIP.version}`,
        `missing C libraries for cgo: apt-get install -y ${missing.join(' ')}`,
      );
    }
    log(`building livekit-sip ${LIVEKIT_SIP.version} (first run only, a few minutes)`);
    const spec = `${LIVEKIT_SIP.module}@${LIVEKIT_SIP.version}`;
    await build(['mod', 'download', spec], undefined, env, `livekit-sip ${LIVEKIT_SIP.version}`);
    const moduleDir = path.join(
      await goEnv('GOMODCACHE'),
      `${LIVEKIT_SIP.module}@${LIVEKIT_SIP.version}`,
    );
    await build(
      ['build', '-o', binaries.sip, './cmd/livekit-sip'],
      moduleDir,
      env,
      `livekit-sip ${LIVEKIT_SIP.version}`,
    );
  }
  writeFileSync(marker, wanted);
  return binaries;
}
