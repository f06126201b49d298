import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** Ranges a customer URL may not reach: private, loopback, link-local (cloud metadata), CGNAT... */
const BLOCKED = new Set([
  'unspecified',
  'broadcast',
  'multicast',
  'linkLocal',
  'loopback',
  'carrierGradeNat',
  'private',
  'reserved',
  'uniqueLocal',
  'ipv4Mapped',
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
]);

export class RefusedTarget extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedTarget';
  }
}

export interface Target {
  url: URL;
  /** The address checked once; the connection goes there, so DNS cannot change in between. */
  address: string;
  family: 4 | 6;
}

/** Resolves the URL's host once and refuses internal addresses unless they are allowed. */
export async function resolveTarget(raw: string, allowPrivate: boolean): Promise<Target> {
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RefusedTarget(`${url.protocol} is not http(s)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const answers = ipaddr.isValid(host)
    ? [{ address: host, family: host.includes(':') ? 6 : 4 }]
    : await lookup(host, { all: true });
  if (answers.length === 0) throw new RefusedTarget(`${host} does not resolve`);
  for (const answer of answers) {
    const range = ipaddr.parse(answer.address).range();
    if (BLOCKED.has(range) && !allowPrivate) {
      throw new RefusedTarget(
        `${host} resolves to ${answer.address} (${range}); internal addresses are refused (WEBHOOK_ALLOW_PRIVATE_TARGETS)`,
      );
    }
  }
  const first = answers[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
