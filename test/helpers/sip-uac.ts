import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/**
 * A small SIP UAC over UDP for tests that need what sipp's built-in scenarios cannot give: the
 * exact final response to an INVITE answered with digest credentials, or a chosen User-Agent.
 */
export interface SipResponse {
  status: number;
  reason: string;
  headers: string;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function parse(text: string): SipResponse | undefined {
  const m = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)/.exec(text);
  return m ? { status: Number(m[1]), reason: m[2] ?? '', headers: text } : undefined;
}

interface Dialog {
  socket: Socket;
  localHost: string;
  localPort: number;
  callId: string;
  tag: string;
}

function open(localHost: string): Promise<Dialog> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, localHost, () =>
      resolve({
        socket,
        localHost,
        localPort: socket.address().port,
        callId: `${randomBytes(8).toString('hex')}@vg-test`,
        tag: randomBytes(4).toString('hex'),
      }),
    );
  });
}

/**
 * Sends one request and waits for its final response, or a ringing one (180/183) when
 * `ringingIsEnough` (undefined when none comes in time).
 */
function transact(
  d: Dialog,
  host: string,
  port: number,
  lines: string[],
  body: string,
  timeoutMs: number,
  ringingIsEnough = false,
): Promise<SipResponse | undefined> {
  const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
  const [requestLine, ...headers] = lines;
  const message = [
    requestLine,
    `Via: SIP/2.0/UDP ${d.localHost}:${d.localPort};branch=${branch};rport`,
    ...headers,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      d.socket.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    const onMessage = (raw: Buffer) => {
      const response = parse(raw.toString('utf8'));
      const minimum = ringingIsEnough ? 180 : 200;
      if (!response || !response.headers.includes(branch) || response.status < minimum) return;
      clearTimeout(timer);
      d.socket.off('message', onMessage);
      resolve(response);
    };
    d.socket.on('message', onMessage);
    d.socket.send(message, port, host);
  });
}

/** The ACK of a non-2xx final response (same branch), so the server stops retransmitting. */
function ack(d: Dialog, host: string, port: number, uri: string, cseq: number, r: SipResponse) {
  const header = (name: string) =>
    new RegExp(`^${name}:\\s*([^\\r\\n]*)`, 'im').exec(r.headers)?.[1] ?? '';
  const message = [
    `ACK ${uri} SIP/2.0`,
    `Via: ${header('Via')}`,
    'Max-Forwards: 70',
    `From: ${header('From')}`,
    `To: ${header('To')}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${cseq} ACK`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  d.socket.send(message, port, host);
}

/** CANCEL of a ringing INVITE (same Via branch), then wait briefly for the 487. */
async function cancel(d: Dialog, host: string, port: number, uri: string, r: SipResponse) {
  const header = (name: string) =>
    new RegExp(`^${name}:\\s*([^\\r\\n]*)`, 'im').exec(r.headers)?.[1] ?? '';
  const message = [
    `CANCEL ${uri} SIP/2.0`,
    `Via: ${header('Via')}`,
    'Max-Forwards: 70',
    `From: ${header('From')}`,
    `To: ${header('To').replace(/;tag=[^;]*/, '')}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${/^CSeq:\s*(\d+)/im.exec(r.headers)?.[1] ?? '1'} CANCEL`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  d.socket.send(message, port, host);
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function sdp(ip: string): string {
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${ip}`,
    's=-',
    `c=IN IP4 ${ip}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');
}

function digestHeader(challenge: string, method: string, uri: string, user: string, pass: string) {
  const field = (name: string) => new RegExp(`${name}="?([^",]+)"?`, 'i').exec(challenge)?.[1];
  const realm = field('realm') ?? '';
  const nonce = field('nonce') ?? '';
  const qop = field('qop');
  const ha1 = md5(`${user}:${realm}:${pass}`);
  const ha2 = md5(`${method}:${uri}`);
  const cnonce = randomBytes(4).toString('hex');
  const response = qop
    ? md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`)
    : md5(`${ha1}:${nonce}:${ha2}`);
  const qopPart = qop ? `, qop=auth, nc=00000001, cnonce="${cnonce}"` : '';
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5${qopPart}`;
}

function inviteLines(d: Dialog, uri: string, cseq: number, extra: string[]): string[] {
  return [
    `INVITE ${uri} SIP/2.0`,
    'Max-Forwards: 70',
    `From: <sip:+15550009999@${d.localHost}>;tag=${d.tag}`,
    `To: <${uri}>`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${cseq} INVITE`,
    `Contact: <sip:caller@${d.localHost}:${d.localPort}>`,
    'User-Agent: vg-test-uac',
    'Content-Type: application/sdp',
    ...extra,
  ];
}

/**
 * Milliseconds from sending an INVITE to its first 180/183 or final 2xx (then the call is
 * cancelled); undefined when it was refused or nothing came in time.
 */
export async function inviteRingingTime(options: {
  host: string;
  port: number;
  number: string;
  localHost?: string;
  timeoutMs?: number;
}): Promise<number | undefined> {
  const d = await open(options.localHost ?? '127.0.0.1');
  const uri = `sip:${options.number}@${options.host}:${options.port}`;
  try {
    const started = performance.now();
    const r = await transact(
      d,
      options.host,
      options.port,
      inviteLines(d, uri, 1, []),
      sdp(d.localHost),
      options.timeoutMs ?? 5000,
      true,
    );
    const ms = performance.now() - started;
    if (r && r.status < 200) await cancel(d, options.host, options.port, uri, r);
    if (r && r.status >= 300) ack(d, options.host, options.port, uri, 1, r);
    return r && r.status < 300 ? ms : undefined;
  } finally {
    d.socket.close();
  }
}

/**
 * The status of the first ringing (180/183) or final response to one INVITE (0: nothing came);
 * a ringing call is cancelled, a refusal acknowledged.
 */
export async function inviteStatus(options: {
  host: string;
  port: number;
  number: string;
  localHost?: string;
  timeoutMs?: number;
  /** Wait for the final response, past any ringing. */
  untilFinal?: boolean;
}): Promise<number> {
  const d = await open(options.localHost ?? '127.0.0.1');
  const uri = `sip:${options.number}@${options.host}:${options.port}`;
  try {
    const r = await transact(
      d,
      options.host,
      options.port,
      inviteLines(d, uri, 1, []),
      sdp(d.localHost),
      options.timeoutMs ?? 5000,
      !options.untilFinal,
    );
    if (r && r.status < 200) await cancel(d, options.host, options.port, uri, r);
    if (r && r.status >= 300) ack(d, options.host, options.port, uri, 1, r);
    return r?.status ?? 0;
  } finally {
    d.socket.close();
  }
}

/**
 * INVITE `number` at host:port; when challenged, INVITE again with digest credentials. Returns
 * the status of the last INVITE: its final response, or 180/183 once it rings (LiveKit rings
 * until someone in the room subscribes; the call is then cancelled). 0 when nothing answered.
 */
export async function inviteWithDigest(options: {
  host: string;
  port: number;
  number: string;
  username: string;
  password: string;
  localHost?: string;
  timeoutMs?: number;
}): Promise<number> {
  const d = await open(options.localHost ?? '127.0.0.1');
  const uri = `sip:${options.number}@${options.host}:${options.port}`;
  const base = (cseq: number, extra: string[]) => inviteLines(d, uri, cseq, extra);
  const timeout = options.timeoutMs ?? 8000;
  try {
    const first = await transact(
      d,
      options.host,
      options.port,
      base(1, []),
      sdp(d.localHost),
      timeout,
    );
    if (!first) return 0;
    ack(d, options.host, options.port, uri, 1, first);
    if (first.status !== 401 && first.status !== 407) return first.status;
    const header = first.status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const challenge =
      new RegExp(`^${header}:\\s*([^\\r\\n]*)`, 'im').exec(first.headers)?.[1] ?? '';
    const auth = digestHeader(challenge, 'INVITE', uri, options.username, options.password);
    const name = first.status === 407 ? 'Proxy-Authorization' : 'Authorization';
    const second = await transact(
      d,
      options.host,
      options.port,
      base(2, [`${name}: ${auth}`]),
      sdp(d.localHost),
      timeout,
      true,
    );
    if (second && second.status >= 300) ack(d, options.host, options.port, uri, 2, second);
    if (second && second.status < 200) await cancel(d, options.host, options.port, uri, second);
    return second?.status ?? 0;
  } finally {
    d.socket.close();
  }
}

/** One OPTIONS with the given User-Agent; the final status, or 0 when nothing answered. */
export async function optionsFrom(options: {
  host: string;
  port: number;
  localHost: string;
  userAgent: string;
  timeoutMs?: number;
}): Promise<number> {
  const d = await open(options.localHost);
  try {
    const response = await transact(
      d,
      options.host,
      options.port,
      [
        `OPTIONS sip:${options.host}:${options.port} SIP/2.0`,
        'Max-Forwards: 70',
        `From: <sip:probe@${d.localHost}>;tag=${d.tag}`,
        `To: <sip:${options.host}:${options.port}>`,
        `Call-ID: ${d.callId}`,
        'CSeq: 1 OPTIONS',
        `User-Agent: ${options.userAgent}`,
      ],
      '',
      options.timeoutMs ?? 1500,
    );
    return response?.status ?? 0;
  } finally {
    d.socket.close();
  }
}
