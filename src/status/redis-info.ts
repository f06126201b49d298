import { createConnection } from 'node:net';

/** Redis's INFO server section as key/value pairs, over one short connection. */
export function redisInfo(url: string, timeoutMs: number): Promise<Record<string, string>> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || 6379);
  const commands: string[][] = [];
  if (parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    commands.push(user ? ['AUTH', user, password] : ['AUTH', password]);
  }
  commands.push(['INFO', 'server']);
  const wire = commands
    .map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
    .join('');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let reply = Buffer.alloc(0);
    const fail = (error: Error) => (socket.destroy(), reject(error));
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`Redis at ${host}:${port} did not answer within ${timeoutMs} ms`)),
    );
    socket.once('error', (error) => fail(new Error(`Redis at ${host}:${port}: ${error.message}`)));
    socket.once('connect', () => socket.write(wire));
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const text = reply.toString('utf8');
      const error = /^-([^\r\n]*)/m.exec(text);
      if (error) return fail(new Error(`Redis refused: ${error[1]}`));
      // The bulk reply of INFO: $<length>\r\n<body>\r\n
      const header = /\$(\d+)\r\n/.exec(text);
      if (!header) return;
      const start = header.index + header[0].length;
      const length = Number(header[1]);
      if (Buffer.byteLength(text.slice(start)) < length) return;
      socket.end();
      const body = text.slice(start, start + length);
      resolve(
        Object.fromEntries(
          body
            .split('\r\n')
            .filter((line) => line.includes(':') && !line.startsWith('#'))
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
        ),
      );
    });
  });
}
