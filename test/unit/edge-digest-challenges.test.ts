import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  digestAlgorithmsFrom,
  renderEdgeConfig,
  writeEdgeConfig,
} from '../../src/edge/kamailio-config.js';

const base = {
  sipListenIp: '127.0.0.1',
  sipPort: 5070,
  rpcIp: '127.0.0.1',
  rpcPort: 5090,
  rpcSecret: 'a-test-secret-of-some-length',
  livekitHost: '127.0.0.1',
  livekitPort: 5060,
  dir: '/tmp/unused',
};

const challenges = (text: string) =>
  [
    ...text.matchAll(/(WWW|Proxy)-Authenticate: Digest \$var\(params\), algorithm=([A-Z0-9-]+)/g),
  ].map((m) => `${m[1]} ${m[2]}`);

describe('the edge digest challenges', () => {
  it('offers SHA-256 then MD5 by default, MD5 first on request, or MD5 alone for baresip 1.0', () => {
    expect(challenges(renderEdgeConfig(base))).toEqual([
      'WWW SHA-256',
      'WWW MD5',
      'Proxy SHA-256',
      'Proxy MD5',
    ]);
    expect(challenges(renderEdgeConfig({ ...base, digestMd5First: true }))[0]).toBe('WWW MD5');
    expect(challenges(renderEdgeConfig({ ...base, digestAlgorithms: ['MD5'] }))).toEqual([
      'WWW MD5',
      'Proxy MD5',
    ]);
  });

  it('reads EDGE_DIGEST_ALGORITHMS and names a bad algorithm', () => {
    expect(digestAlgorithmsFrom('md5, SHA-256')).toEqual(['MD5', 'SHA-256']);
    expect(digestAlgorithmsFrom(undefined)).toBeUndefined();
    expect(() => digestAlgorithmsFrom('SHA-1')).toThrow(/"SHA-1" is neither SHA-256 nor MD5/);
  });
});

describe('the rendered edge config', () => {
  it('holds secrets, so only its owner can read it or list its directory', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-edge-cfg-')), 'edge');
    const file = writeEdgeConfig({ ...base, dir });
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(statSync(dir).mode & 0o077).toBe(0);
  });
});
