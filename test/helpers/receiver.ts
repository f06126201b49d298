import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answeredWith: number;
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** Status for the nth request (0-based); 'hold' keeps the request open without answering. */
  answer: (n: number) => number | 'hold';
  close(): Promise<void>;
}

/** A customer's webhook endpoint on 127.0.0.1 that records what it receives. */
export async function startReceiver(
  answer: Receiver['answer'],
  options: { delayMs?: number } = {},
): Promise<Receiver> {
  const requests: Received[] = [];
  const receiver: Receiver = { url: '', requests, answer, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = receiver.answer(requests.length);
      requests.push({ headers: req.headers, body, answeredWith: status === 'hold' ? 0 : status });
      if (status === 'hold') return;
      const reply = () =>
        res
          .writeHead(status, { 'content-type': 'text/plain' })
          .end(status < 300 ? 'ok' : 'not now');
      if (options.delayMs) setTimeout(reply, options.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
