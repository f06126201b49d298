/**
 * The few SIP texts the SMS area reads and writes itself: a MESSAGE request as the edge hands
 * it on, and the response to it. Headers keep their order; compact names are expanded.
 */

const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
};

export interface SipRequest {
  method: string;
  uri: string;
  /** Lower-case names (compact forms expanded), values in order. */
  headers: Map<string, string[]>;
  /** Header lines as received, for copying Via/From/To/Call-ID/CSeq into a response. */
  raw: { name: string; value: string }[];
  body: Buffer;
}

/** Parses one datagram as a SIP request; undefined for a response or anything unreadable. */
export function parseRequest(datagram: Buffer): SipRequest | undefined {
  const split = datagram.indexOf('\r\n\r\n');
  const headEnd = split < 0 ? datagram.length : split;
  const head = datagram.subarray(0, headEnd).toString('utf8');
  const lines = head.split('\r\n');
  const start = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(lines[0] ?? '');
  if (!start) return undefined;
  const headers = new Map<string, string[]>();
  const raw: { name: string; value: string }[] = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && raw.length > 0) {
      const last = raw[raw.length - 1]!;
      last.value += ` ${line.trim()}`;
      const values = headers.get(last.name)!;
      values[values.length - 1] = last.value;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const lower = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[lower] ?? lower;
    const value = line.slice(colon + 1).trim();
    raw.push({ name, value });
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  let body = split < 0 ? Buffer.alloc(0) : datagram.subarray(split + 4);
  const length = Number(headers.get('content-length')?.[0] ?? body.length);
  if (!Number.isInteger(length) || length < 0 || length > body.length) return undefined;
  body = body.subarray(0, length);
  return { method: start[1]!, uri: start[2]!, headers, raw, body };
}

export function header(request: SipRequest, name: string): string | undefined {
  return request.headers.get(name)?.[0];
}

/** The user part of a From/To/request URI: "<sip:+1555@host>;tag=x" -> "+1555". */
export function uriUser(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /(?:sips?|tel):([^@;>\s]+)/i.exec(value);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

/** A response to `request`: Via, From, To (with `toTag` unless it has one), Call-ID, CSeq. */
export function buildResponse(
  request: SipRequest,
  code: number,
  reason: string,
  options: { toTag?: string; extra?: string[] } = {},
): Buffer {
  const lines = [`SIP/2.0 ${code} ${reason}`];
  for (const { name, value } of request.raw) {
    if (name === 'via') lines.push(`Via: ${value}`);
    else if (name === 'from') lines.push(`From: ${value}`);
    else if (name === 'to')
      lines.push(
        `To: ${value}${options.toTag && !/;\s*tag=/i.test(value) ? `;tag=${options.toTag}` : ''}`,
      );
    else if (name === 'call-id') lines.push(`Call-ID: ${value}`);
    else if (name === 'cseq') lines.push(`CSeq: ${value}`);
  }
  lines.push(...(options.extra ?? []), 'Server: voice-gateway', 'Content-Length: 0', '', '');
  return Buffer.from(lines.join('\r\n'));
}
