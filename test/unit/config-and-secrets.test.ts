import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { envSchema } from '../../src/config/schema.js';
import { readStackEnv, stackEnvSchema } from '../../src/config/stack-env.js';
import { SecretBox } from '../../src/db/secret-box.js';

describe('configuration', () => {
  it('names every bad variable', () => {
    expect(() =>
      loadConfig({ API_PORT: '70000', LIVEKIT_URL: 'not a url', RECONCILE_MODE: 'fix' }),
    ).toThrow(/API_PORT.*LIVEKIT_URL.*RECONCILE_MODE/);
  });

  it('requires an encryption key with an external database', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://db.example/gw' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://db.example/gw' })).toThrow(
      /GATEWAY_ENCRYPTION_KEY/,
    );
  });

  it('documents every variable in .env.example', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const documented = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(
      [...Object.keys(envSchema.shape), ...Object.keys(stackEnvSchema.shape)].sort(),
    );
  });

  it(".env.example's uncommented values are the schema's defaults (commented ones are examples)", () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const defaults: Record<string, unknown> = {
      ...envSchema.parse({}),
      ...stackEnvSchema.parse({}),
    };
    const set = [...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)];
    expect(set.length).toBeGreaterThan(20);
    const differ = set
      .filter(([, name, value]) => String(defaults[name!]) !== value!.trim())
      .map(([, name, value]) => `${name}: example ${value}, default ${String(defaults[name!])}`);
    expect(differ).toEqual([]);
  });
});

describe("npm start's own variables", () => {
  it('are parsed through the schemas, a bad one named', () => {
    const { stack, gateway, isSet } = readStackEnv({ LIVEKIT_PORT: '7990', API_PORT: '' });
    expect(stack.LIVEKIT_PORT).toBe(7990);
    expect(gateway.API_PORT).toBe(8080);
    expect(isSet('LIVEKIT_PORT')).toBe(true);
    expect(isSet('API_PORT')).toBe(false);
    expect(() => readStackEnv({ REDIS_PORT: 'six', EDGE_ENABLED: 'perhaps' })).toThrow(
      /EDGE_ENABLED.*REDIS_PORT/,
    );
    expect(() => readStackEnv({ REDIS_ADDRESS: 'redis' })).toThrow(/REDIS_ADDRESS: host:port/);
  });

  it('no code outside src/config reads a variable of its own from process.env', () => {
    const root = new URL('../../', import.meta.url).pathname;
    const files = (dir: string): string[] =>
      readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? e.name === 'generated'
            ? []
            : files(path.join(dir, e.name))
          : e.name.endsWith('.ts')
            ? [path.join(dir, e.name)]
            : [],
      );
    const raw = [...files('src'), ...files('scripts')]
      .filter((f) => !f.startsWith(path.join('src', 'config') + path.sep))
      .flatMap((f) =>
        [...readFileSync(path.join(root, f), 'utf8').matchAll(/process\.env(?:\.(\w+)|\[)/g)]
          .map((m) => m[1] ?? '[...]')
          // The search path and home folder are handed on to child processes, not settings.
          .filter((name) => name !== 'PATH' && name !== 'HOME')
          .map((name) => `${f}: ${name}`),
      );
    expect(raw).toEqual([]);
  });
});

describe('secrets at rest', () => {
  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox(randomBytes(32).toString('base64'));
    const sealed = box.encrypt('trunk-password');
    expect(sealed).not.toContain('trunk-password');
    expect(box.decrypt(sealed)).toBe('trunk-password');
    expect(box.encrypt('trunk-password')).not.toBe(sealed);
  });

  it('refuses a tampered ciphertext and a wrong key', () => {
    const box = new SecretBox(randomBytes(32).toString('base64'));
    const sealed = box.encrypt('x');
    const parts = sealed.split(':');
    parts[3] = Buffer.from('y').toString('base64');
    expect(() => box.decrypt(parts.join(':'))).toThrow();
    expect(() => new SecretBox(randomBytes(32).toString('base64')).decrypt(sealed)).toThrow();
    expect(() => new SecretBox('c2hvcnQ=')).toThrow(/32 bytes/);
  });
});
