import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/**
 * Builds the operator console (console/, with vite) into dist/console when it is missing or
 * older than its sources: `npm start` and the tests call this, so a fresh clone (or a changed
 * console) serves what its sources say without a separate build step.
 */
export async function ensureConsoleBuilt(root: string, log: (line: string) => void): Promise<void> {
  const built = path.join(root, 'dist', 'console', 'index.html');
  const sources = path.join(root, 'console');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(sources)) return;
  log('building the console (vite)');
  const { build } = await import('vite');
  await build({ configFile: path.join(sources, 'vite.config.ts'), logLevel: 'warn' });
}
