import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { crc32 } from 'node:zlib';

// A minimal STUN/TURN client (RFC 8489, RFC 8656): just enough to make one Allocate with
// long-term credentials and read the answer. No maintained npm package covers TURN here.
const MAGIC = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const ATTR = {
  USERNAME: 0x0006,
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

function xorAddress(value: Buffer): string {
  const port = value.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = [4, 5, 6, 7].map((i, n) => value[i]! ^ ((MAGIC >>> (24 - n * 8)) & 0xff)).join('.');
  return `${ip}:${port}`;
}

export interface AllocateResult {
  ok: boolean;
  /** 0 when the server answered success; else the STUN error code (401, 438, ...). */
  status: number;
  reason: string;
  realm?: string;
  relayedAddress?: string;
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
  timeoutMs = 3000,
): Promise<AllocateResult> {
  const socket = createSocket('udp4');
  const exchange = (packet: Buffer, transactionId: Buffer) =>
    new Promise<Parsed>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        reject(new Error(`no answer from TURN server ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (data: Buffer) => {
        const parsed = parse(data);
        if (!parsed || !parsed.transactionId.equals(transactionId)) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(parsed);
      };
      socket.on('message', onMessage);
      socket.send(packet, port, host);
    });
  const transport = Buffer.from([17, 0, 0, 0]);
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
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
    const secondId = randomBytes(12);
    const request = sign(
      message(ALLOCATE_REQUEST, secondId, [
        attribute(ATTR.REQUESTED_TRANSPORT, transport),
        attribute(ATTR.USERNAME, Buffer.from(username, 'utf8')),
        attribute(ATTR.REALM, Buffer.from(realm, 'utf8')),
        attribute(ATTR.NONCE, nonce),
      ]),
      key,
    );
    const answer = await exchange(request, secondId);
    if (answer.type === ALLOCATE_SUCCESS) {
      const relayed = answer.attributes.get(ATTR.XOR_RELAYED_ADDRESS);
      return {
        ok: true,
        status: 0,
        reason: 'allocated',
        realm,
        relayedAddress: relayed ? xorAddress(relayed) : undefined,
      };
    }
    const error = answer.attributes.get(ATTR.ERROR_CODE);
    const status = error ? (error[2]! & 0x7) * 100 + error[3]! : -1;
    return {
      ok: false,
      status,
      reason: error ? error.subarray(4).toString('utf8') : 'unknown error',
      realm,
    };
  } finally {
    socket.close();
  }
}
