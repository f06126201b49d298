import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  digestAuthorization,
  parseChallenge,
  pickChallenge,
  type DigestAlgorithm,
} from '../../src/edge/digest.js';

/**
 * A SIP phone over UDP for the SIP user tests: REGISTER with digest (SHA-256 or MD5, which sipp
 * cannot both do), INVITE with proxy auth, and incoming INVITEs answered as the test says. It
 * binds to one loopback address; `close()` frees it.
 */
export interface SipMessage {
  status: number;
  reason: string;
  method: string;
  text: string;
  header(name: string): string | undefined;
  headers(name: string): string[];
}

function parse(text: string): SipMessage {
  const [head = ''] = text.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const first = lines[0] ?? '';
  const res = /^SIP\/2\.0 (\d{3}) (.*)$/.exec(first);
  const req = /^([A-Z]+) /.exec(first);
  const all = (name: string) =>
    lines
      .slice(1)
      .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
      .map((l) => l.slice(name.length + 1).trim());
  return {
    status: res ? Number(res[1]) : 0,
    reason: res?.[2] ?? '',
    method: req?.[1] ?? '',
    text,
    header: (name) => all(name)[0],
    headers: all,
  };
}

export interface IncomingCall {
  request: SipMessage;
  from: { host: string; port: number };
}

export class SipPhone {
  private readonly waiting = new Set<(m: SipMessage) => boolean>();
  readonly calls: IncomingCall[] = [];
  /** Status the phone answers an incoming INVITE with (180 then this). */
  answerInvitesWith = 486;
  private cseq = 1;
  readonly callId = `${randomBytes(8).toString('hex')}@phone`;
  readonly tag = randomBytes(4).toString('hex');

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on('message', (buf, rinfo) => {
      const m = parse(buf.toString('latin1'));
      if (m.method === 'INVITE') this.incoming(m, { host: rinfo.address, port: rinfo.port });
      else if (m.method === 'ACK' || m.method === 'BYE' || m.method === 'CANCEL') {
        if (m.method !== 'ACK') this.reply(m, { host: rinfo.address, port: rinfo.port }, 200, 'OK');
      }
      for (const w of this.waiting) if (w(m)) this.waiting.delete(w);
    });
  }

  static async open(host: string): Promise<SipPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    return new SipPhone(socket, host, socket.address().port);
  }

  close(): void {
    this.socket.close();
  }

  private reply(
    req: SipMessage,
    to: { host: string; port: number },
    status: number,
    reason: string,
  ) {
    const copy = ['Via', 'From', 'Call-ID', 'CSeq'].flatMap((h) =>
      req.headers(h).map((v) => `${h}: ${v}`),
    );
    const toHeader = req.header('To') ?? '';
    const lines = [
      `SIP/2.0 ${status} ${reason}`,
      ...copy,
      `To: ${toHeader}${/;tag=/.test(toHeader) ? '' : `;tag=${this.tag}`}`,
      `Contact: <sip:phone@${this.host}:${this.port}>`,
      'Content-Length: 0',
      '',
      '',
    ];
    this.socket.send(Buffer.from(lines.join('\r\n'), 'latin1'), to.port, to.host);
  }

  private incoming(m: SipMessage, from: { host: string; port: number }) {
    if (!this.calls.some((c) => c.request.header('Call-ID') === m.header('Call-ID')))
      this.calls.push({ request: m, from });
    this.reply(m, from, 180, 'Ringing');
    const status = this.answerInvitesWith;
    setTimeout(() => this.reply(m, from, status, status === 486 ? 'Busy Here' : 'Declined'), 200);
  }

  /** Sends a request as this phone and waits for its final response (undefined on timeout). */
  async send(
    target: { host: string; port: number },
    request: {
      method: string;
      uri: string;
      from: string;
      to: string;
      headers?: string[];
      body?: string;
      cseq?: number;
      callId?: string;
    },
    timeoutMs = 3000,
  ): Promise<SipMessage | undefined> {
    const cseq = request.cseq ?? this.cseq++;
    const callId = request.callId ?? this.callId;
    const body = request.body ?? '';
    const text = [
      `${request.method} ${request.uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: <${request.from}>;tag=${this.tag}`,
      `To: <${request.to}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${request.method}`,
      'User-Agent: vg-test-phone/1.0',
      ...(request.headers ?? []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    const answer = new Promise<SipMessage | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(match);
        resolve(undefined);
      }, timeoutMs);
      const match = (m: SipMessage) => {
        if (m.status < 200 || m.header('CSeq') !== `${cseq} ${request.method}`) return false;
        if (m.header('Call-ID') !== callId) return false;
        clearTimeout(timer);
        resolve(m);
        return true;
      };
      this.waiting.add(match);
    });
    this.socket.send(Buffer.from(text, 'latin1'), target.port, target.host);
    const final = await answer;
    if (final && request.method === 'INVITE' && final.status >= 300) {
      const ack = [
        `ACK ${request.uri} SIP/2.0`,
        `Via: ${final.header('Via') ?? ''}`,
        'Max-Forwards: 70',
        `From: ${final.header('From') ?? ''}`,
        `To: ${final.header('To') ?? ''}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ACK`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      this.socket.send(Buffer.from(ack, 'latin1'), target.port, target.host);
    }
    return final;
  }

  /**
   * REGISTER as `username`, answering the challenge with `algorithm`. Returns the challenge and
   * the final answer; `authorization` is the header sent (to try a replay).
   */
  async register(
    edge: { host: string; port: number },
    options: {
      username: string;
      password: string;
      algorithm?: DigestAlgorithm;
      expires?: number;
      domain?: string;
      contactHost?: string;
      realm?: string;
      /** The address of record registered (default: the username's own). */
      aorUser?: string;
    },
  ) {
    const domain = options.domain ?? 'sip.voice-gateway.local';
    const aor = `sip:${options.aorUser ?? options.username}@${domain}`;
    const uri = `sip:${domain}`;
    const contact = `Contact: <sip:${options.username}@${options.contactHost ?? `${this.host}:${this.port}`}>`;
    const headers = [contact, `Expires: ${options.expires ?? 300}`];
    const base = { method: 'REGISTER', uri, from: aor, to: aor };
    const challenge = await this.send(edge, { ...base, headers });
    if (challenge?.status !== 401) return { challenge, final: challenge, authorization: '' };
    const offered = challenge
      .headers('WWW-Authenticate')
      .map(parseChallenge)
      .filter((c) => c !== undefined);
    const picked = pickChallenge(offered, options.algorithm ?? 'SHA-256');
    if (!picked) throw new Error('the edge offered no digest challenge the phone knows');
    const authorization = digestAuthorization(
      options.realm ? { ...picked, realm: options.realm } : picked,
      { username: options.username, password: options.password },
      { method: 'REGISTER', uri },
    );
    const final = await this.send(edge, {
      ...base,
      headers: [...headers, `Authorization: ${authorization}`],
    });
    return { challenge, final, authorization, offered };
  }

  /**
   * Calls `number` as `username` through the edge: answers the 407 with digest, ACKs the 200
   * along its route set. SDP offers PCMU and telephone-event at rtpPort (the test's RtpPeer).
   * Returns the final answer and, when answered, `hangUp()` (a BYE).
   */
  async call(
    edge: { host: string; port: number },
    options: {
      username: string;
      password: string;
      number: string;
      rtpPort: number;
      algorithm?: DigestAlgorithm;
      domain?: string;
    },
  ) {
    const domain = options.domain ?? 'sip.voice-gateway.local';
    const callId = `${randomBytes(8).toString('hex')}@phone-call`;
    const uri = `sip:${options.number}@${domain}`;
    const from = `sip:${options.username}@${domain}`;
    const sdp = [
      'v=0',
      `o=${options.username} 1 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${options.rtpPort} RTP/AVP 0 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
    const base = {
      method: 'INVITE',
      uri,
      from,
      to: uri,
      callId,
      body: sdp,
      headers: [
        `Contact: <sip:${options.username}@${this.host}:${this.port}>`,
        'Content-Type: application/sdp',
      ],
    };
    const cseq = this.cseq++;
    const first = await this.send(edge, { ...base, cseq }, 10_000);
    if (first?.status !== 407) return { final: first, hangUp: async () => undefined };
    const offered = first
      .headers('Proxy-Authenticate')
      .map(parseChallenge)
      .filter((c) => c !== undefined);
    const picked = pickChallenge(offered, options.algorithm ?? 'SHA-256');
    if (!picked) throw new Error('the edge offered no digest challenge the phone knows');
    const authorization = digestAuthorization(
      picked,
      { username: options.username, password: options.password },
      { method: 'INVITE', uri },
    );
    const inviteCseq = this.cseq++;
    const final = await this.send(
      edge,
      {
        ...base,
        cseq: inviteCseq,
        headers: [...base.headers, `Proxy-Authorization: ${authorization}`],
      },
      20_000,
    );
    if (!final || final.status >= 300) return { final, hangUp: async () => undefined };
    const routes = final
      .headers('Record-Route')
      .flatMap((r) => r.split(','))
      .reverse();
    const target = /<([^>]+)>/.exec(final.header('Contact') ?? '')?.[1] ?? uri;
    const inDialog = (method: string, seq: number) =>
      [
        `${method} ${target} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
        'Max-Forwards: 70',
        ...routes.map((r) => `Route: ${r.trim()}`),
        `From: ${final.header('From') ?? ''}`,
        `To: ${final.header('To') ?? ''}`,
        `Call-ID: ${callId}`,
        `CSeq: ${seq} ${method}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    this.socket.send(Buffer.from(inDialog('ACK', inviteCseq), 'latin1'), edge.port, edge.host);
    return {
      final,
      hangUp: async () => {
        const seq = this.cseq++;
        this.socket.send(Buffer.from(inDialog('BYE', seq), 'latin1'), edge.port, edge.host);
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
    };
  }
}
