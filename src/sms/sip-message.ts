import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import ipaddr from 'ipaddr.js';
import {
  digestAuthorization,
  parseChallenge,
  parseResponse,
  pickChallenge,
  type DigestChallenge,
  type SipResponse,
} from '../edge/index.js';

/**
 * Outbound MESSAGE transactions (RFC 3428) the gateway sends itself, through the edge's relay
 * socket (route RELAY_MESSAGE), so the provider sees the edge's address as for calls and
 * registrations. Answers one 401/407 challenge with the trunk's credentials.
 */

const T1_MS = 500;
const T2_MS = 4000;

export interface MessageTarget {
  /** sip:<user>@<provider host>:<port>[;transport=tcp] */
  requestUri: string;
  from: string;
  to: string;
  body: string;
  /** Same Call-ID for every try of one message (a provider can tell a retry). */
  callId: string;
  credentials?: { username: string; password: string };
  /** Extra header lines (the delivery report request). */
  headers?: string[];
}

export interface Relay {
  host: string;
  port: number;
  /** The edge's shared secret, sent in X-Edge-Token (the edge removes it). */
  token: string;
}

export interface MessageOutcome {
  /** The final SIP status; 408 when nothing answered in time. */
  code: number;
  reason: string;
}

function token(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

export async function sendMessage(
  target: MessageTarget,
  relay: Relay,
  timeoutMs: number,
): Promise<MessageOutcome> {
  const fromTag = token(6);
  let cseq = Math.floor(Math.random() * 10_000) + 1;
  let response = await transaction(target, relay, timeoutMs, fromTag, cseq);
  if (response && (response.code === 401 || response.code === 407) && target.credentials) {
    const name = response.code === 401 ? 'www-authenticate' : 'proxy-authenticate';
    const offered = (response.headers.get(name) ?? [])
      .map(parseChallenge)
      .filter((c): c is DigestChallenge => c !== undefined);
    const challenge = pickChallenge(offered);
    if (challenge) {
      const credentials = digestAuthorization(challenge, target.credentials, {
        method: 'MESSAGE',
        uri: target.requestUri,
      });
      cseq += 1;
      response = await transaction(target, relay, timeoutMs, fromTag, cseq, {
        [response.code === 401 ? 'Authorization' : 'Proxy-Authorization']: credentials,
      });
    }
  }
  if (!response) return { code: 408, reason: 'No answer' };
  return { code: response.code, reason: response.reason.slice(0, 200) };
}

/** One request and its final response, retransmitted over UDP (timer E), or undefined. */
function transaction(
  target: MessageTarget,
  relay: Relay,
  timeoutMs: number,
  fromTag: string,
  cseq: number,
  extra: Record<string, string> = {},
): Promise<SipResponse | undefined> {
  return new Promise((resolve, reject) => {
    const v6 = relay.host.includes(':');
    const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
    const branch = `z9hG4bK${token()}`;
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
    const loopback = ipaddr.isValid(relay.host)
      ? ipaddr.parse(relay.host).range() === 'loopback'
      : relay.host === 'localhost';
    socket.bind({ port: 0, address: loopback ? (v6 ? '::1' : '127.0.0.1') : undefined }, () =>
      socket.connect(relay.port, relay.host, () => start()),
    );
    const start = () => {
      const local = socket.address();
      const host = local.family === 'IPv6' ? `[${local.address}]` : local.address;
      const body = Buffer.from(target.body, 'utf8');
      const head = [
        `MESSAGE ${target.requestUri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${host}:${local.port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <${target.from}>;tag=${fromTag}`,
        `To: <${target.to}>`,
        `Call-ID: ${target.callId}`,
        `CSeq: ${cseq} MESSAGE`,
        ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
        ...(target.headers ?? []),
        `X-Edge-Token: ${relay.token}`,
        'User-Agent: voice-gateway',
        'Content-Type: text/plain;charset=UTF-8',
        `Content-Length: ${body.length}`,
        '',
        '',
      ].join('\r\n');
      const message = Buffer.concat([Buffer.from(head), body]);
      let interval = T1_MS;
      const transmit = () => {
        socket.send(message);
        retransmit = setTimeout(transmit, interval);
        interval = Math.min(interval * 2, T2_MS);
      };
      transmit();
      timer = setTimeout(() => done(undefined), timeoutMs);
    };
  });
}
