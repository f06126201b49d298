import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/paths.js';

// Under load a room's connect can fail after rtc-node made the room (the FFI answers "handle not
// found"); its native handles then throw "trying to drop an invalid handle" when the garbage
// collector drops them, outside any call. The bench saw that end a host with 25 calls on it.
// These run the real native bindings in a child process, with the host's error routing.

const run = promisify(execFile);
const isolation = path.join(packageRoot(), 'src', 'callhost', 'call-isolation.ts');
// rtc-node's own native bindings, as the host loads them.
const fromRoot = createRequire(path.join(packageRoot(), 'package.json'));
const bindings = pathToFileURL(
  createRequire(fromRoot.resolve('@livekit/rtc-node')).resolve('@livekit/rtc-ffi-bindings'),
).href;

async function host(body: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
    import { FfiHandle } from ${JSON.stringify(bindings)};
    import { dropFailedRoomHandles, routeUncaughtErrors } from ${JSON.stringify(isolation)};
    routeUncaughtErrors({
      fatal(e) { console.log('fatal: ' + e.message); process.exit(1); },
      stray(e) { console.log('stray: ' + e.message); },
    });
    const collect = async () => {
      for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); }
    };
    ${body}
    console.log('host still running');`;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-freed-handles-')), 'host.mts');
  writeFileSync(file, script);
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', file],
      {
        cwd: packageRoot(),
        timeout: 20_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('a host and the native handles of a room that failed to connect', () => {
  it('goes on when the garbage collector drops a handle the FFI already freed', async () => {
    const result = await host(`
      let freed = new FfiHandle(987654321n);
      freed = null;
      await collect();`);
    expect(result.stdout).toContain('stray: trying to drop an invalid handle');
    expect(result.stdout).toContain('host still running');
    expect(result.code).toBe(0);
  });

  it('still exits on any other error outside every call', async () => {
    const result = await host(`
      setTimeout(() => { throw new Error('a bug in the host'); }, 10);
      await new Promise((r) => setTimeout(r, 500));`);
    expect(result.stdout).toContain('fatal: a bug in the host');
    expect(result.stdout).not.toContain('host still running');
    expect(result.code).toBe(1);
  });

  it('drops a failed room’s freed handles at once, leaving nothing for the collector', async () => {
    const result = await host(`
      (() => {
        const room = {
          ffiHandle: new FfiHandle(987654322n),
          localParticipant: { ffi_handle: new FfiHandle(987654323n) },
          remoteParticipants: new Map([['caller', { ffi_handle: new FfiHandle(987654324n) }]]),
        };
        dropFailedRoomHandles(room, (e) => console.log('drop failed: ' + e.message));
        console.log('dropped');
      })();
      await collect();`);
    expect(result.stdout).toContain('dropped');
    expect(result.stdout).not.toContain('stray');
    expect(result.stdout).not.toContain('drop failed');
    expect(result.code).toBe(0);
  });
});
