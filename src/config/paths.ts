import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding the gateway's package.json, from source (tsx) or from dist/. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'prisma'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the gateway package root (package.json next to prisma/)');
}
