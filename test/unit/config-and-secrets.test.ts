import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { envSchema } from '../../src/config/schema.js';
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
    expect(documented.sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  it(".env.example's uncommented values are the schema's defaults (commented ones are examples)", () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const defaults: Record<string, unknown> = envSchema.parse({});
    const set = [...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)];
    expect(set.length).toBeGreaterThan(20);
    const differ = set
      .filter(([, name, value]) => String(defaults[name!]) !== value!.trim())
      .map(([, name, value]) => `${name}: example ${value}, default ${String(defaults[name!])}`);
    expect(differ).toEqual([]);
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
