import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/paths.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'generated' ? [] : sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

describe('docs/operator.md', () => {
  it('lists every Prometheus metric the code registers', () => {
    const root = packageRoot();
    const names = new Set(
      sourceFiles(path.join(root, 'src')).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/name: '(voice_gateway_\w+)'/g)].map((m) => m[1]!),
      ),
    );
    expect(names.size).toBeGreaterThan(20);
    const doc = readFileSync(path.join(root, 'docs/operator.md'), 'utf8');
    expect([...names].filter((n) => !doc.includes(`\`${n}`))).toEqual([]);
  });
});
