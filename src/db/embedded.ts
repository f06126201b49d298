import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** postgresql:// URL of the wire-protocol server on its unix socket. */
  url: string;
  close(): Promise<void>;
}

/** The file name libpq and node-postgres look for in a socket folder (default port). */
const SOCKET_FILE = '.s.PGSQL.5432';
/** A unix socket path holds at most 107 bytes on Linux; keep clear of it. */
const MAX_SOCKET_PATH = 100;

/** True when a server answers on the socket (another process uses this data folder). */
function socketInUse(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** An owner-only folder for the socket: in the data folder, or a fresh temp one if that path is too long. */
function socketFolder(dataDir: string): { dir: string; temporary: boolean } {
  const dir = path.join(dataDir, 'pglite-socket');
  if (Buffer.byteLength(path.join(dir, SOCKET_FILE)) > MAX_SOCKET_PATH) {
    return { dir: mkdtempSync(path.join(os.tmpdir(), 'vg-pg-')), temporary: true };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return { dir, temporary: false };
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) persisted under the data folder and served over
 * the PostgreSQL wire protocol, so the rest of the gateway talks to it as to a PostgreSQL
 * server. PGlite checks no password, so it listens on no TCP port: only on a unix socket in a
 * folder only this OS user may enter (0700). Other local users cannot connect at all.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = path.join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const socket = socketFolder(path.resolve(dataDir));
  const file = path.join(socket.dir, SOCKET_FILE);
  if (existsSync(file)) {
    if (await socketInUse(file)) {
      throw new Error(`the embedded database in ${dir} is in use by another process`);
    }
    unlinkSync(file); // left behind by a process that died
  }
  const db = await PGlite.create({ dataDir: dir });
  const server = new PGLiteSocketServer({ db, path: file, maxConnections: 4 });
  await server.start();
  return {
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socket.dir)}&sslmode=disable`,
    async close() {
      await server.stop();
      await db.close();
      rmSync(file, { force: true });
      if (socket.temporary) rmSync(socket.dir, { recursive: true, force: true });
    },
  };
}
