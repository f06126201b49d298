import { createConnection } from 'node:net';

/** Sends one RESP command to Redis at host:port and returns the raw reply. */
export function redisCommand(address: string, args: string[], timeoutMs = 1500): Promise<string> {
  const [host, port] = address.split(':');
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port: Number(port) });
    let reply = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`Redis at ${address} did not answer within ${timeoutMs} ms`));
    });
    socket.once('error', (error) => reject(new Error(`Redis at ${address}: ${error.message}`)));
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // Enough for PING and HLEN: one line.
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.trim());
      }
    });
  });
}
