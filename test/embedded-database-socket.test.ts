import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-embedded-socket-'));
// A data folder others may look into, as `mkdir .data` makes it: the database must not rely on it.
chmodSync(dataDir, 0o755);
const pgModule = createRequire(import.meta.url).resolve('pg');
let gw: TestGateway | undefined;

afterAll(async () => {
  await gw?.close();
});

/**
 * Runs a pg client as another local user (nobody): it connects to `url`, queries, and prints
 * what happened. PGlite checks no password, so reaching the server at all is enough to read it.
 */
function queryAsNobody(url: string): Promise<string> {
  const script = `
    const pg = require(${JSON.stringify(pgModule)});
    const c = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 });
    c.connect()
      .then(() => c.query('SELECT count(*)::int AS n FROM api_keys'))
      .then((r) => { console.log('read ' + r.rows[0].n + ' api keys'); return c.end(); })
      .catch((e) => { console.log('refused: ' + (e.code || e.message)); process.exit(0); });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, url], {
      uid: 65534,
      gid: 65534,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}

describe('embedded database access', () => {
  it('refuses another local user the embedded database, which takes no password', async () => {
    gw = await startTestGateway({ database: 'embedded', dataDir });
    expect(gw.api.database.kind).toBe('embedded');
    // The gateway itself works on it.
    expect((await gw.request('GET', '/api/trunks')).status).toBe(200);
    const answer = await queryAsNobody(gw.databaseUrl);
    expect(answer).toMatch(/^refused: /);
    expect(answer).not.toMatch(/api keys/);
    // No TCP port: the URL names a socket folder only this OS user may enter.
    const host = new URL(gw.databaseUrl).searchParams.get('host');
    expect(host).toBe(path.join(dataDir, 'pglite-socket'));
    expect(statSync(host!).mode & 0o777).toBe(0o700);
  });
});
