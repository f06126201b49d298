import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/config/paths.js';

const run = promisify(execFile);
const hook = fileURLToPath(new URL('./helpers/import-log.mjs', import.meta.url));

describe('the call host process', () => {
  it('loads only what calls need: no Express, BullMQ, database or webhook sender', async () => {
    const root = packageRoot();
    // LiveKit unreachable on loopback: the host keeps retrying while its modules load.
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--import', hook, path.join(root, 'src/callhost/main.ts')],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          LIVEKIT_URL: 'http://127.0.0.1:1',
          LOG_LEVEL: 'silent',
          IMPORT_LOG_MS: '8000',
        },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('IMPORTS '));
    expect(line, stdout.slice(-2000)).toBeDefined();
    const urls = JSON.parse(line!.slice('IMPORTS '.length)) as string[];
    // The host did load its own graph (not an empty list from a process that died at once).
    expect(urls.some((u) => u.includes('/src/callhost/host.ts'))).toBe(true);
    expect(urls.some((u) => u.includes('/node_modules/@livekit/rtc-node/'))).toBe(true);
    const packages = new Set(
      urls.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1]).filter(Boolean),
    );
    for (const heavy of ['express', 'bullmq', '@electric-sql/pglite', 'pg', 'kysely', 'svix']) {
      expect(packages.has(heavy), `${heavy} is in the host's module graph`).toBe(false);
    }
    // Nor the API's areas: the host talks to the API through src/contract only.
    const apiAreas = urls.filter((u) =>
      /\/src\/(http|db|webhooks|calls|queue|trunks|agent-api|profiles)\//.test(u),
    );
    expect(apiAreas).toEqual([]);
  }, 90_000);
});
