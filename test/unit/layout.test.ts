import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/paths.js';

const root = packageRoot();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'generated' ? [] : sourceFiles(file);
    return /\.m?ts$/.test(file) ? [file] : [];
  });
}

/** Each relative module a file imports (static, re-export or dynamic), as a path from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/\bfrom\s+'([^']+)'/g),
    ...text.matchAll(/\bimport\s*\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/^import\s+'([^']+)'/gm),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => path.relative(root, path.resolve(path.dirname(file), s)));
}

function inside(file: string, folder: string): boolean {
  return file.startsWith(folder + path.sep);
}

// The code the API process and its helpers are made of; test/ may start the API (test/helpers).
const scanned = ['src', 'scripts', 'bench'].flatMap((dir) => sourceFiles(path.join(root, dir)));
const edges = scanned.flatMap((file) => {
  const from = path.relative(root, file);
  return importsOf(file).map((to) => ({ from, to }));
});
const compositionRoot = path.join('src', 'http');
const kit = path.join('src', 'http-kit');
const kernel = path.join('src', 'kernel');

describe('the source layout', () => {
  it('finds the areas importing the shared HTTP kit (the scan reads imports)', () => {
    const users = new Set(edges.filter(({ to }) => inside(to, kit)).map(({ from }) => from));
    expect(users.size).toBeGreaterThanOrEqual(18);
  });

  it('lets no file outside the composition root (src/http) import it', () => {
    const offenders = edges.filter(
      ({ from, to }) => inside(to, compositionRoot) && !inside(from, compositionRoot),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps the shared HTTP kit (src/http-kit) free of area routers and the composition root', () => {
    const offenders = edges.filter(
      ({ from, to }) =>
        inside(from, kit) && (inside(to, compositionRoot) || /routes(\.[jt]s)?$/.test(to)),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps src/kernel a leaf: its files import only each other and libraries', () => {
    const offenders = edges.filter(({ from, to }) => inside(from, kernel) && !inside(to, kernel));
    expect(edges.some(({ to }) => inside(to, kernel))).toBe(true);
    expect(offenders).toEqual([]);
  });
});
