import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseChallenge, pickChallenge } from '../../src/edge/digest.js';

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
const RFC7616 = {
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};
const credentials = { username: 'Mufasa', password: 'Circle of Life' };
const request = { method: 'GET', uri: '/dir/index.html' };

const responseOf = (header: string) => /response="([0-9a-f]+)"/.exec(header)![1];

describe('SIP digest (client side)', () => {
  it('answers the RFC 7616 example with the published MD5 and SHA-256 responses', () => {
    for (const [algorithm, expected] of [
      ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
      ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
    ] as const) {
      const header = digestAuthorization(
        { ...RFC7616, algorithm, qop: ['auth'] },
        credentials,
        request,
        { cnonce: RFC7616.cnonce, nc: 1 },
      );
      expect(responseOf(header)).toBe(expected);
      expect(header).toContain(`algorithm=${algorithm}`);
      expect(header).toContain('qop=auth, nc=00000001');
      expect(header).toContain(`opaque="${RFC7616.opaque}"`);
    }
  });

  it('reads challenges and prefers the strongest algorithm, or the one asked for', () => {
    const md5 = parseChallenge('Digest realm="p.test", nonce="abc", qop="auth,auth-int"')!;
    expect(md5).toMatchObject({ realm: 'p.test', nonce: 'abc', algorithm: 'MD5' });
    expect(md5.qop).toEqual(['auth', 'auth-int']);
    const sha = parseChallenge('Digest realm="p.test",nonce="def",algorithm=SHA-256')!;
    expect(pickChallenge([md5, sha])?.algorithm).toBe('SHA-256');
    expect(pickChallenge([md5, sha], 'MD5')?.nonce).toBe('abc');
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(
      pickChallenge([parseChallenge('Digest realm="r", nonce="n", algorithm=AKAv1-MD5')!]),
    ).toBeUndefined();
    // SHA-512-256 is computable on this Node (OpenSSL), so it can be offered.
    const strong = digestAuthorization(
      { realm: 'r', nonce: 'n', algorithm: 'SHA-512-256' },
      credentials,
      { method: 'REGISTER', uri: 'sip:p.test' },
    );
    expect(responseOf(strong)).toHaveLength(64);
  });
});
