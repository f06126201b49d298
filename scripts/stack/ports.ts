import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { StackPorts } from './configs.js';

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A port the OS picks, free on 127.0.0.1 for TCP. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The lowest port the OS hands out for outgoing connections (Linux: ip_local_port_range). A
 * port above it that is free now can be taken by any client socket before our server binds it.
 */
function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 21000 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A block of `size` consecutive ports free for both TCP and UDP on 127.0.0.1, searched from a
 * random start in [from, to) so that parallel runs rarely collide. Bounded attempts. The range
 * ends below the ephemeral ports, so no outgoing connection can take a port in the meantime.
 */
export async function freePortBlock(
  size: number,
  from = 20000,
  to = ephemeralLow(),
): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const start = from + Math.floor(Math.random() * (to - from - size));
    let ok = true;
    for (let port = start; port < start + size && ok; port += 1) {
      ok = (await tcpFree(port)) && (await udpFree(port));
    }
    if (ok) return start;
  }
  throw new Error(`no block of ${size} free loopback ports found between ${from} and ${to}`);
}

/** Carves a block of 160 free loopback ports (see freePortBlock) into the stack's ports. */
export function stackPortsFrom(base: number): StackPorts {
  return {
    redis: base,
    livekit: base + 1,
    livekitTcp: base + 2,
    sip: base + 3,
    livekitUdpStart: base + 10,
    livekitUdpEnd: base + 79,
    rtpStart: base + 80,
    rtpEnd: base + 159,
  };
}
