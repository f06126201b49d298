import http from 'node:http';
import https from 'node:https';
import type { Target } from './targets.js';

export interface SendResult {
  status: number;
  /** First 1 KiB of the body. */
  body: string;
  retryAfterMs?: number;
}

/** The most of a receiver's answer that is read (and stored in the attempt log). */
export const RESPONSE_BODY_CAP = 1024;

function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * POSTs `body` to the checked address (never re-resolving the host), follows no redirects,
 * reads at most 1 KiB of the answer, and gives up at `deadline.at` (epoch ms; the attempt's
 * deadline of `deadline.ms`), whatever happens in between: a receiver dripping a byte now and then cannot hold the attempt longer
 * (an idle timeout alone would be reset by every byte).
 */
export function send(
  target: Target,
  headers: Record<string, string>,
  body: string,
  deadline: { at: number; ms: number },
): Promise<SendResult> {
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      clearTimeout(timer);
      if (!settled) reject(error);
      settled = true;
      request.destroy();
    };
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
      },
      (response) => {
        let received = '';
        const finish = () => {
          clearTimeout(timer);
          if (!settled)
            resolve({
              status: response.statusCode ?? 0,
              body: received.slice(0, RESPONSE_BODY_CAP),
              retryAfterMs: retryAfter(response.headers['retry-after']),
            });
          settled = true;
          response.destroy();
        };
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          received += chunk;
          if (received.length >= RESPONSE_BODY_CAP) finish();
        });
        response.on('end', finish);
        response.on('error', fail);
        response.on('close', () =>
          response.complete ? finish() : fail(new Error('the answer was cut off')),
        );
      },
    );
    const timer = setTimeout(
      () => fail(new Error(`no complete answer within ${deadline.ms} ms (WEBHOOK_TIMEOUT_MS)`)),
      Math.max(1, deadline.at - Date.now()),
    );
    request.on('error', fail);
    request.end(body);
  });
}
