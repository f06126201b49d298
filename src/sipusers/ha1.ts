import { createHash } from 'node:crypto';

/** HA1 = H(username:realm:password) for MD5 (RFC 2617) and SHA-256 (RFC 7616, RFC 8760). */
export function digestHa1s(username: string, realm: string, password: string) {
  const text = `${username}:${realm}:${password}`;
  return {
    md5: createHash('md5').update(text, 'utf8').digest('hex'),
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
  };
}
