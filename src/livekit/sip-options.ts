import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

export interface SipOptionsResult {
  status: number;
  reason: string;
  server?: string;
  rttMs: number;
}

/**
 * Sends one SIP OPTIONS over UDP and returns the final response's status line. Used as a
 * liveness probe for LiveKit SIP (it answers OPTIONS) and by diagnostics.
 */
export function sipOptions(
  host: string,
  port: number,
  options: { timeoutMs?: number; localHost?: string } = {},
): Promise<SipOptionsResult> {
  const localHost = options.localHost ?? '127.0.0.1';
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const tag = randomBytes(6).toString('hex');
  const callId = `${randomBytes(10).toString('hex')}@voice-gateway`;
  const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setTimeout(() => {
      socket.close();
      reject(
        new Error(`no SIP response from ${host}:${port} within ${options.timeoutMs ?? 2000} ms`),
      );
    }, options.timeoutMs ?? 2000);
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.on('message', (message) => {
      const text = message.toString('utf8');
      const match = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)/.exec(text);
      if (!match || !text.includes(callId)) return;
      const status = Number(match[1]);
      if (status < 200) return;
      clearTimeout(timer);
      socket.close();
      const server = /^(?:Server|User-Agent):\s*([^\r\n]*)/im.exec(text)?.[1];
      resolve({ status, reason: match[2] ?? '', server, rttMs: Date.now() - started });
    });
    socket.bind(0, localHost, () => {
      const local = socket.address();
      const request = [
        `OPTIONS sip:${host}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${localHost}:${local.port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@${localHost}>;tag=${tag}`,
        `To: <sip:${host}:${port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        `Contact: <sip:probe@${localHost}:${local.port}>`,
        'Accept: application/sdp',
        'User-Agent: voice-gateway-probe',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(request, port, host);
    });
  });
}
