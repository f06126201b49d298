import http from 'node:http';
import https from 'node:https';
import type { Target } from './targets.js';

export interface SendResult {
  status: number;
  /** First 1 KiB of the body. */
  body: string;
  retryAfterMs?: number;
}

const BODY_CAP = 1024;

function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * POSTs `body` to the checked address (never re-resolving the host), follows no redirects,
 * reads at most 1 KiB of the answer, and gives up after `timeoutMs`.
 */
export function send(
  target: Target,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<SendResult> {
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        // The checked address, never a new lookup. Node 20 asks for all addresses of a host name
        // (autoSelectFamily), and then wants an array back.
        lookup: ((
          _host: string,
          options: { all?: boolean },
          callback: (...args: unknown[]) => void,
        ) =>
          options.all
            ? callback(null, [{ address: target.address, family: target.family }])
            : callback(null, target.address, target.family)) as never,
        timeout: timeoutMs,
      },
      (response) => {
        let received = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (received.length < BODY_CAP) received += chunk;
          if (received.length >= BODY_CAP) response.destroy();
        });
        const done = () =>
          resolve({
            status: response.statusCode ?? 0,
            body: received.slice(0, BODY_CAP),
            retryAfterMs: retryAfter(response.headers['retry-after']),
          });
        response.on('end', done);
        response.on('close', done);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
