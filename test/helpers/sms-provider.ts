import { createSocket } from 'node:dgram';

export interface ReceivedMessage {
  callId: string;
  cseq: string;
  body: string;
  /** The request line and headers. */
  head: string;
  at: number;
}

export interface SmsProvider {
  host: string;
  port: number;
  /** Every MESSAGE received, retransmissions included, in arrival order. */
  received: ReceivedMessage[];
  close(): void;
}

/**
 * A provider's SMS endpoint on loopback, for counting many MESSAGEs (sipp's UAS takes one call
 * per run): answers each MESSAGE with `answer(n)` (200 unless told), copying Via, From, To,
 * Call-ID and CSeq.
 */
export async function startSmsProvider(
  answer: (n: number) => number = () => 200,
  host = '127.0.0.1',
): Promise<SmsProvider> {
  const socket = createSocket('udp4');
  const received: ReceivedMessage[] = [];
  socket.on('message', (datagram, from) => {
    const text = datagram.toString('utf8');
    if (!text.startsWith('MESSAGE ')) return;
    const [head = '', body = ''] = text.split('\r\n\r\n');
    const lines = head.split('\r\n');
    const pick = (name: string) => lines.filter((l) => new RegExp(`^${name}:`, 'i').test(l));
    const value = (name: string) => pick(name)[0]?.replace(/^[^:]+:\s*/, '') ?? '';
    const code = answer(received.length);
    received.push({ callId: value('Call-ID'), cseq: value('CSeq'), body, head, at: Date.now() });
    const reply = [
      `SIP/2.0 ${code} ${code === 200 ? 'OK' : 'Refused'}`,
      ...pick('Via'),
      ...pick('From'),
      `${pick('To')[0]};tag=prov`,
      ...pick('Call-ID'),
      ...pick('CSeq'),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  return { host, port: socket.address().port, received, close: () => socket.close() };
}
