import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import ipaddr from 'ipaddr.js';
import {
  digestAuthorization,
  parseChallenge,
  pickChallenge,
  type DigestAlgorithm,
  type DigestChallenge,
} from './digest.js';

/**
 * REGISTER transactions the gateway sends itself, for registrars whose digest algorithm
 * Kamailio 5.6's uac cannot compute (SHA-256, SHA-512-256). They go to the edge's relay socket
 * and leave from the edge's SIP socket, so the registrar sees, and calls back, the same address
 * as for every other registration. A small SIP client written for this: see digest.ts.
 */

const T1_MS = 500;
const T2_MS = 4000;
const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
};

export interface SipResponse {
  code: number;
  reason: string;
  headers: Map<string, string[]>;
}

/** Parses a SIP response; undefined for a request or anything unreadable. */
export function parseResponse(datagram: Buffer): SipResponse | undefined {
  const text = datagram.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const lines = (end < 0 ? text : text.slice(0, end)).split(/\r?\n/);
  const status = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!status) return undefined;
  const headers = new Map<string, string[]>();
  let last: { name: string; index: number } | undefined;
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && last) {
      const values = headers.get(last.name)!;
      values[last.index] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const values = headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
    last = { name, index: values.length - 1 };
  }
  return { code: Number(status[1]), reason: status[2]!.trim(), headers };
}

export interface RegisterTarget {
  /** host[:port] of the registrar. */
  registrar: string;
  username: string;
  password: string;
  /** The contact the edge receives calls at: sip:<user>@<host:port>. */
  contact: string;
  algorithm: DigestAlgorithm;
  /** udp, tcp or tls towards the registrar (the edge picks its socket by it). */
  transport: string;
}

export interface RegisterOutcome {
  code: number;
  reason: string;
  /** Seconds the registrar granted (200 OK). */
  expires?: number;
  /** 423: what the registrar asks for at least. */
  minExpires?: number;
  /** The algorithms the registrar's challenge offered, when our answer was refused. */
  offered?: string[];
}

function token(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

/** One registration's dialog: Call-ID and CSeq survive refreshes, as RFC 3261 §10.2 asks. */
export class RegisterClient {
  private readonly callId = `${token(12)}@voice-gateway`;
  private readonly fromTag = token(6);
  private cseq = 0;

  constructor(
    private readonly target: RegisterTarget,
    /** token: the edge's shared secret, sent in X-Edge-Token (the edge removes it). */
    private readonly relay: { host: string; port: number; token?: string },
    private readonly timeoutMs: number,
  ) {}

  /** One REGISTER, answered once more with credentials when challenged. */
  async register(expires: number): Promise<RegisterOutcome> {
    let response = await this.send(expires);
    let offered: DigestChallenge[] = [];
    for (let round = 0; round < 2 && response && [401, 407].includes(response.code); round++) {
      const header = response.code === 401 ? 'www-authenticate' : 'proxy-authenticate';
      offered = (response.headers.get(header) ?? [])
        .map(parseChallenge)
        .filter((c): c is DigestChallenge => c !== undefined);
      const challenge = pickChallenge(offered, this.target.algorithm);
      // Answer a fresh challenge, or a stale nonce once more; never the same one twice.
      if (!challenge || (round === 1 && !challenge.stale)) break;
      const credentials = digestAuthorization(
        challenge,
        { username: this.target.username, password: this.target.password },
        { method: 'REGISTER', uri: this.requestUri() },
      );
      response = await this.send(expires, {
        [response.code === 401 ? 'Authorization' : 'Proxy-Authorization']: credentials,
      });
    }
    if (!response) return { code: 408, reason: 'No answer' };
    const outcome: RegisterOutcome = { code: response.code, reason: response.reason };
    if (response.code >= 200 && response.code < 300) {
      outcome.expires = this.grantedExpires(response, expires);
    } else if (response.code === 423) {
      const min = Number(response.headers.get('min-expires')?.[0]);
      if (Number.isFinite(min)) outcome.minExpires = min;
    } else if ([401, 403, 407].includes(response.code) && offered.length) {
      outcome.offered = offered.map((c) => c.algorithm);
    }
    return outcome;
  }

  private requestUri(): string {
    const { registrar, transport } = this.target;
    return `sip:${registrar}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  }

  private grantedExpires(response: SipResponse, asked: number): number {
    const contactUser = this.target.contact.replace(/^sip:/, '').split('@')[0]!;
    for (const value of response.headers.get('contact') ?? []) {
      for (const contact of value.split(/,(?=\s*<)/)) {
        if (!contact.includes(contactUser)) continue;
        const m = /;\s*expires\s*=\s*(\d+)/i.exec(contact);
        if (m) return Number(m[1]);
      }
    }
    const header = Number(response.headers.get('expires')?.[0]);
    return Number.isFinite(header) ? header : asked;
  }

  /** Sends one request and waits for its final response, retransmitting over UDP. */
  private send(expires: number, extra: Record<string, string> = {}) {
    return new Promise<SipResponse | undefined>((resolve, reject) => {
      const socket = dgram.createSocket(this.relay.host.includes(':') ? 'udp6' : 'udp4');
      const branch = `z9hG4bK${token()}`;
      const aor = `sip:${this.target.username}@${this.target.registrar}`;
      this.cseq += 1;
      let timer: NodeJS.Timeout | undefined;
      let retransmit: NodeJS.Timeout | undefined;
      const done = (response: SipResponse | undefined, error?: unknown) => {
        clearTimeout(timer);
        clearTimeout(retransmit);
        socket.close();
        if (error) reject(error);
        else resolve(response);
      };
      socket.on('error', (error) => done(undefined, error));
      socket.on('message', (datagram) => {
        const response = parseResponse(datagram);
        if (!response || !response.headers.get('via')?.[0]?.includes(branch)) return;
        clearTimeout(retransmit);
        if (response.code >= 200) done(response);
      });
      // Loopback stays on loopback; otherwise the route to the edge picks the address.
      const v6 = this.relay.host.includes(':');
      const loopback = ipaddr.isValid(this.relay.host)
        ? ipaddr.parse(this.relay.host).range() === 'loopback'
        : this.relay.host === 'localhost';
      const bindTo = loopback ? (v6 ? '::1' : '127.0.0.1') : undefined;
      socket.bind({ port: 0, address: bindTo }, () =>
        socket.connect(this.relay.port, this.relay.host, () => start()),
      );
      const start = () => {
        const local = socket.address();
        const host = local.family === 'IPv6' ? `[${local.address}]` : local.address;
        const message = Buffer.from(
          [
            `REGISTER ${this.requestUri()} SIP/2.0`,
            `Via: SIP/2.0/UDP ${host}:${local.port};branch=${branch};rport`,
            'Max-Forwards: 70',
            `From: <${aor}>;tag=${this.fromTag}`,
            `To: <${aor}>`,
            `Call-ID: ${this.callId}`,
            `CSeq: ${this.cseq} REGISTER`,
            `Contact: <${this.target.contact}>;expires=${expires}`,
            `Expires: ${expires}`,
            ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
            ...(this.relay.token ? [`X-Edge-Token: ${this.relay.token}`] : []),
            'User-Agent: voice-gateway-edge',
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n'),
        );
        let interval = T1_MS;
        const transmit = () => {
          socket.send(message);
          retransmit = setTimeout(transmit, interval);
          interval = Math.min(interval * 2, T2_MS);
        };
        transmit();
        timer = setTimeout(() => done(undefined), this.timeoutMs);
      };
    });
  }
}
