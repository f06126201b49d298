import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import net from 'node:net';

/**
 * Hand-made SIP for attacks sipp cannot script: forged in-dialog requests, forged responses,
 * malformed messages. Every socket binds to a loopback address and closes by itself.
 */

/** Sends `message` over UDP from `localHost` and collects whatever comes back for `waitMs`. */
export async function udpExchange(options: {
  localHost: string;
  host: string;
  port: number;
  message: string | Buffer;
  waitMs?: number;
}): Promise<string[]> {
  const socket = createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, options.localHost, () => resolve());
  });
  try {
    const text = typeof options.message === 'string' ? options.message : undefined;
    const local = socket.address();
    const body = text
      ? Buffer.from(text.replaceAll('{local}', `${local.address}:${local.port}`), 'latin1')
      : (options.message as Buffer);
    socket.send(body, options.port, options.host);
    await new Promise((resolve) => setTimeout(resolve, options.waitMs ?? 1500));
    return received;
  } finally {
    socket.close();
  }
}

/** Sends `message` over a TCP connection and collects the answer for `waitMs`. */
export async function tcpExchange(options: {
  localHost: string;
  host: string;
  port: number;
  message: string | Buffer;
  waitMs?: number;
}): Promise<string> {
  const socket = net.connect({
    host: options.host,
    port: options.port,
    localAddress: options.localHost,
  });
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('error', () => resolve());
  });
  const local = `${socket.localAddress}:${socket.localPort}`;
  socket.write(
    typeof options.message === 'string'
      ? options.message.replaceAll('{local}', local)
      : options.message,
  );
  await new Promise((resolve) => setTimeout(resolve, options.waitMs ?? 1500));
  socket.destroy();
  return received;
}

/** A UDP listener on another loopback address: the would-be victim of a relay. */
export interface Victim {
  host: string;
  port: number;
  received: string[];
  close(): void;
}

export async function startVictim(host: string): Promise<Victim> {
  const socket: Socket = createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  return { host, port: socket.address().port, received, close: () => socket.close() };
}

/**
 * A SIP request as text; `{local}` in it becomes the sender's address. The Via is the sender's,
 * so an answer comes back to it.
 */
export function sipRequest(options: {
  method: string;
  uri: string;
  headers?: string[];
  body?: string;
  via?: boolean;
}): string {
  const body = options.body ?? '';
  const tag = randomBytes(4).toString('hex');
  return [
    `${options.method} ${options.uri} SIP/2.0`,
    ...(options.via === false
      ? []
      : [`Via: SIP/2.0/UDP {local};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`]),
    'Max-Forwards: 70',
    `From: <sip:attacker@127.0.0.2>;tag=${tag}`,
    `Call-ID: ${randomBytes(8).toString('hex')}@attacker`,
    ...(options.headers ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The status codes of the SIP responses among `messages`. */
export function statuses(messages: string[]): number[] {
  return messages
    .map((m) => /^SIP\/2\.0 (\d{3})/.exec(m)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number);
}
