import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/paths.js';
import { errorCatalogue, GatewayError, isErrorCode } from '../../src/errors/index.js';
import { LivekitError, livekitGatewayError } from '../../src/livekit/index.js';
import { errorsDocFile, formattedErrorsDoc } from '../../scripts/docs/errors.js';

const root = packageRoot();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'generated' ? [] : sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

const sources = sourceFiles(path.join(root, 'src')).map((file) => ({
  file: path.relative(root, file),
  text: readFileSync(file, 'utf8'),
}));

describe('the error catalogue', () => {
  it('docs/errors.md is the catalogue rendered (run npm run docs:errors after a change)', async () => {
    expect(readFileSync(errorsDocFile, 'utf8')).toBe(await formattedErrorsDoc());
  });

  it('names every code a GatewayError is thrown with in src/', () => {
    const thrown = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/new GatewayError\(\s*([^,]+),/g)].flatMap((m) =>
        [...m[1]!.matchAll(/'(\w+)'/g)].map((c) => ({ file, code: c[1]! })),
      ),
    );
    // The SIP outcomes carry their code in a table (src/calls/sip-errors.ts).
    const sip = sources
      .filter(({ file }) => file.endsWith('sip-errors.ts'))
      .flatMap(({ file, text }) =>
        [...text.matchAll(/code: '(\w+)'/g)].map((m) => ({ file, code: m[1]! })),
      );
    expect(thrown.length).toBeGreaterThan(60);
    expect(sip.length).toBeGreaterThan(8);
    expect([...thrown, ...sip].filter(({ code }) => !isErrorCode(code))).toEqual([]);
  });

  it('holds no code the source never uses', () => {
    const elsewhere = sources
      .filter(({ file }) => !file.endsWith(path.join('errors', 'catalogue.ts')))
      .map(({ text }) => text)
      .join('\n');
    const unused = Object.keys(errorCatalogue).filter((code) => !elsewhere.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  it('gives every code an error status and a one-line meaning', () => {
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      expect(code, code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.meaning, code).toMatch(/^[^\n]{10,120}$/);
    }
  });

  it('keeps the HTTP error module out of services: only src/http, the kit and routes import it', () => {
    const offenders = sources.filter(
      ({ file, text }) =>
        !file.startsWith(path.join('src', 'http') + path.sep) &&
        !file.startsWith(path.join('src', 'http-kit') + path.sep) &&
        /from '(\.\.\/)+http-kit\/errors\.js'/.test(text) &&
        !file.endsWith('routes.ts'),
    );
    expect(offenders.map((s) => s.file)).toEqual([]);
  });
});

describe('LiveKit errors', () => {
  const cases: [LivekitError, string, number][] = [
    [
      new LivekitError('unavailable', 'LiveKit unreachable: ECONNREFUSED'),
      'livekit_unavailable',
      503,
    ],
    [
      new LivekitError('not_found', 'room does not exist', 404, 'not_found'),
      'livekit_not_found',
      409,
    ],
    [new LivekitError('rejected', 'trunk exists', 409, 'already_exists'), 'livekit_conflict', 409],
    [
      new LivekitError('rejected', 'conflicting rule', 400, 'invalid_argument'),
      'livekit_rejected',
      422,
    ],
  ];
  it.each(cases)('%s maps to one code everywhere', (error, code, status) => {
    const mapped = livekitGatewayError(error, { stored: false });
    expect(mapped).toBeInstanceOf(GatewayError);
    expect(mapped.code).toBe(code);
    expect(errorCatalogue[mapped.code].status).toBe(status);
    expect(mapped.cause).toBe(error);
    expect(mapped.extra).toEqual({ stored: false });
    expect(mapped.retryable).toBe(error.retryable);
  });
});
