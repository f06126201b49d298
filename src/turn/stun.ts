import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { crc32 } from 'node:zlib';

// A minimal STUN/TURN client (RFC 8489, RFC 8656): just enough to make one Allocate with
// long-term credentials and read the answer. No maintained npm package covers TURN here.
const MAGIC = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const REFRESH_REQUEST = 0x0004;
const CREATE_PERMISSION_REQUEST = 0x0008;
const CREATE_PERMISSION_SUCCESS = 0x0108;
const DATA_INDICATION = 0x0017;
const ATTR = {
  USERNAME: 0x0006,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  XOR_MAPPED_ADDRESS: 0x0020,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  REALM: 0x0014,
  NONCE: 0x0015,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_RELAYED_ADDRESS: 0x0016,
  FINGERPRINT: 0x8028,
};

function attribute(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  const padding = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([header, value, padding]);
}

function message(type: number, transactionId: Buffer, attributes: Buffer[]): Buffer {
  const body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(MAGIC, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, body]);
}

/** Appends MESSAGE-INTEGRITY (HMAC-SHA1 with the long-term key) and FINGERPRINT. */
function sign(unsigned: Buffer, key: Buffer): Buffer {
  const withIntegrityLength = Buffer.from(unsigned);
  withIntegrityLength.writeUInt16BE(unsigned.length - 20 + 24, 2);
  const hmac = createHmac('sha1', key).update(withIntegrityLength).digest();
  const integrity = Buffer.concat([withIntegrityLength, attribute(ATTR.MESSAGE_INTEGRITY, hmac)]);
  const withFingerprintLength = Buffer.from(integrity);
  withFingerprintLength.writeUInt16BE(integrity.length - 20 + 8, 2);
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE((crc32(withFingerprintLength) ^ 0x5354554e) >>> 0, 0);
  return Buffer.concat([withFingerprintLength, attribute(ATTR.FINGERPRINT, fingerprint)]);
}

interface Parsed {
  type: number;
  transactionId: Buffer;
  attributes: Map<number, Buffer>;
}

function parse(packet: Buffer): Parsed | undefined {
  if (packet.length < 20 || packet.readUInt32BE(4) !== MAGIC) return undefined;
  const attributes = new Map<number, Buffer>();
  let offset = 20;
  const end = 20 + packet.readUInt16BE(2);
  while (offset + 4 <= end && offset + 4 <= packet.length) {
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    attributes.set(type, packet.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: packet.readUInt16BE(0), transactionId: packet.subarray(8, 20), attributes };
}

interface Address {
  ip: string;
  port: number;
}

function xorAddress(value: Buffer): Address {
  const port = value.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = [4, 5, 6, 7].map((i, n) => value[i]! ^ ((MAGIC >>> (24 - n * 8)) & 0xff)).join('.');
  return { ip, port };
}

function xorAddressValue({ ip, port }: Address): Buffer {
  const value = Buffer.alloc(8);
  value[1] = 0x01;
  value.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
  ip.split('.').forEach((octet, n) => {
    value[4 + n] = Number(octet) ^ ((MAGIC >>> (24 - n * 8)) & 0xff);
  });
  return value;
}

function errorOf(answer: Parsed): { status: number; reason: string } {
  const error = answer.attributes.get(ATTR.ERROR_CODE);
  return error
    ? { status: (error[2]! & 0x7) * 100 + error[3]!, reason: error.subarray(4).toString('utf8') }
    : { status: -1, reason: 'unknown error' };
}

const isLoopback = (host: string) => /^127\./.test(host) || host === 'localhost';

export interface AllocateResult {
  ok: boolean;
  /** 0 when the server answered success; else the STUN error code (401, 438, ...). */
  status: number;
  reason: string;
  realm?: string;
  relayedAddress?: string;
  /**
   * With `probeRelay`: whether a datagram sent from this host to the relayed address came back
   * through the allocation (a Data indication), and why not when it did not.
   */
  relay?: RelayProbe;
}

/**
 * reachable: the datagram came back through the relay; not_permitted: the server refused this
 * host as a peer, so nothing could be tried; unreachable: it did not come back.
 */
export interface RelayProbe {
  outcome: 'reachable' | 'not_permitted' | 'unreachable';
  detail: string;
}

export interface AllocateOptions {
  timeoutMs?: number;
  /** After allocating, check that the relayed address is reachable, then release it. */
  probeRelay?: boolean;
}

/**
 * Tries a TURN Allocate (UDP relay) on host:port with `username`/`password`, the way a browser
 * would: the first request draws the 401 with the realm and nonce, the second is signed.
 */
export async function turnAllocate(
  host: string,
  port: number,
  username: string,
  password: string,
  { timeoutMs = 3000, probeRelay = false }: AllocateOptions = {},
): Promise<AllocateResult> {
  const socket = createSocket('udp4');
  const waitFor = (match: (p: Parsed) => boolean, what: string, ms = timeoutMs) =>
    new Promise<Parsed>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        reject(new Error(`${what} within ${ms} ms`));
      }, ms);
      const onMessage = (data: Buffer) => {
        const parsed = parse(data);
        if (!parsed || !match(parsed)) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(parsed);
      };
      socket.on('message', onMessage);
    });
  const exchange = (packet: Buffer, transactionId: Buffer) => {
    const answer = waitFor(
      (p) => p.transactionId.equals(transactionId),
      `no answer from TURN server ${host}:${port}`,
    );
    socket.send(packet, port, host);
    return answer;
  };
  const transport = Buffer.from([17, 0, 0, 0]);
  try {
    // Loopback servers are reached from loopback only; others from whatever route the OS picks.
    await new Promise<void>((resolve) =>
      isLoopback(host) ? socket.bind(0, '127.0.0.1', resolve) : socket.bind(0, resolve),
    );
    const firstId = randomBytes(12);
    const challenge = await exchange(
      message(ALLOCATE_REQUEST, firstId, [attribute(ATTR.REQUESTED_TRANSPORT, transport)]),
      firstId,
    );
    const realm = challenge.attributes.get(ATTR.REALM)?.toString('utf8');
    const nonce = challenge.attributes.get(ATTR.NONCE);
    if (challenge.type !== ALLOCATE_ERROR || !realm || !nonce) {
      return { ok: false, status: -1, reason: 'the server did not ask for credentials' };
    }
    const key = createHash('md5').update(`${username}:${realm}:${password}`).digest();
    const authenticated = (type: number, attributes: Buffer[]) => {
      const id = randomBytes(12);
      const packet = sign(
        message(type, id, [
          ...attributes,
          attribute(ATTR.USERNAME, Buffer.from(username, 'utf8')),
          attribute(ATTR.REALM, Buffer.from(realm, 'utf8')),
          attribute(ATTR.NONCE, nonce),
        ]),
        key,
      );
      return exchange(packet, id);
    };
    const answer = await authenticated(ALLOCATE_REQUEST, [
      attribute(ATTR.REQUESTED_TRANSPORT, transport),
    ]);
    if (answer.type !== ALLOCATE_SUCCESS) return { ok: false, ...errorOf(answer), realm };
    const relayedValue = answer.attributes.get(ATTR.XOR_RELAYED_ADDRESS);
    const relayed = relayedValue ? xorAddress(relayedValue) : undefined;
    const result: AllocateResult = {
      ok: true,
      status: 0,
      reason: 'allocated',
      realm,
      relayedAddress: relayed ? `${relayed.ip}:${relayed.port}` : undefined,
    };
    if (probeRelay && relayed) {
      const mapped = answer.attributes.get(ATTR.XOR_MAPPED_ADDRESS);
      result.relay = await probe(authenticated, relayed, mapped ? xorAddress(mapped) : undefined);
      await authenticated(REFRESH_REQUEST, [attribute(ATTR.LIFETIME, Buffer.alloc(4))]).catch(
        () => undefined,
      );
    }
    return result;
  } finally {
    socket.close();
  }

  /**
   * Permits this host's address (as the server sees it) as a peer, then sends a datagram from
   * a second socket to the relayed address: a Data indication carrying it proves that the
   * relay port range is reachable at the address the server hands to browsers.
   */
  async function probe(
    authenticated: (type: number, attributes: Buffer[]) => Promise<Parsed>,
    relayed: Address,
    self: Address | undefined,
  ): Promise<RelayProbe> {
    if (!self) {
      return { outcome: 'unreachable', detail: 'the server did not say our mapped address' };
    }
    const permission = await authenticated(CREATE_PERMISSION_REQUEST, [
      attribute(ATTR.XOR_PEER_ADDRESS, xorAddressValue({ ip: self.ip, port: 0 })),
    ]);
    if (permission.type !== CREATE_PERMISSION_SUCCESS) {
      const { status, reason } = errorOf(permission);
      return {
        outcome: 'not_permitted',
        detail: `CreatePermission for peer ${self.ip} refused: ${status} ${reason}`,
      };
    }
    const peer = createSocket('udp4');
    try {
      await new Promise<void>((resolve) =>
        isLoopback(self.ip) ? peer.bind(0, self.ip, resolve) : peer.bind(0, resolve),
      );
      const token = randomBytes(16);
      const delivered = waitFor(
        (p) => p.type === DATA_INDICATION && !!p.attributes.get(ATTR.DATA)?.equals(token),
        `nothing sent to ${relayed.ip}:${relayed.port} came back through the relay`,
        Math.min(timeoutMs, 2000),
      );
      // UDP may drop one; three tries 200 ms apart, stopped as soon as one arrives.
      let arrived = false;
      void delivered.then(() => (arrived = true)).catch(() => undefined);
      for (let i = 0; i < 3 && !arrived; i++) {
        peer.send(token, relayed.port, relayed.ip);
        await new Promise((r) => setTimeout(r, 200));
      }
      await delivered;
      return {
        outcome: 'reachable',
        detail: `a datagram to ${relayed.ip}:${relayed.port} arrived through the relay`,
      };
    } catch (error) {
      return {
        outcome: 'unreachable',
        detail: error instanceof Error ? error.message : String(error),
      };
    } finally {
      peer.close();
    }
  }
}
