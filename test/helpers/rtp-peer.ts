import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dtmfTone, silence } from './speech-audio.js';
import { HOLD_MELODY_NOTES } from '../../src/agent/hold-music.js';
import { tonePower } from '../../src/agent/offline/dtmf-detector.js';

const TELEPHONE_EVENT = 101;

/** The phone's codec: its RTP payload type and the payload of 20 ms of silence. */
export type PeerCodec = 'PCMU' | 'PCMA' | 'G722';
const PAYLOAD_TYPE: Record<PeerCodec, number> = { PCMU: 0, PCMA: 8, G722: 9 };
const SAMPLES_PER_PACKET = 160; // 20 ms at 8 kHz

/** G.711 mu-law byte to a 16-bit sample. */
export function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/** G.711 A-law byte to a 16-bit sample. */
export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = exponent === 0 ? t + 8 : (t + 0x108) << (exponent - 1);
  return a & 0x80 ? t : -t;
}

/** 20 ms of G.722 silence, encoded by ffmpeg. */
function g722Silence(): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-g722-'));
  const file = path.join(dir, 'silence.g722');
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'anullsrc=r=16000:cl=mono',
    '-t',
    '0.2',
    '-c:a',
    'g722',
    '-f',
    'g722',
    file,
  ]);
  // The encoder settles after its first frames: the last 20 ms is steady silence.
  const all = readFileSync(file);
  return all.subarray(all.length - SAMPLES_PER_PACKET);
}

/** G.722 audio (RTP payloads, 8000 bytes a second) decoded by ffmpeg to 16 kHz samples. */
export function decodeG722(payloads: Buffer[]): Int16Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-g722-'));
  const file = path.join(dir, 'heard.g722');
  writeFileSync(file, Buffer.concat(payloads));
  const pcm = execFileSync(
    'ffmpeg',
    ['-loglevel', 'error', '-f', 'g722', '-i', file, '-f', 's16le', '-ac', '1', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
}

/** A phrase spoken by espeak-ng as 8 kHz mu-law, the caller's voice. */
export function speechAsUlaw(text: string): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-speech-'));
  const wav = path.join(dir, 'speech.wav');
  const ulaw = path.join(dir, 'speech.ul');
  execFileSync('espeak-ng', ['-w', wav, '-s', '150', '--', text]);
  execFileSync('sox', [wav, '-r', '8000', '-c', '1', '-t', 'ul', ulaw]);
  return readFileSync(ulaw);
}

export interface HeardAudio {
  /** Unix ms of the first packet whose 20 ms frame had speech energy (RMS > threshold). */
  firstSoundAt: number | undefined;
  /** 20 ms frames received, and how many of them had sound. */
  frames: number;
  soundFrames: number;
  /** Frames with sound that are one note of the built-in hold melody (src/agent/hold-music.ts). */
  musicFrames: number;
}

const HOLD_NOTE_COEFFICIENTS = [...new Set(HOLD_MELODY_NOTES)].map(
  (hz) => 2 * Math.cos((2 * Math.PI * hz) / 8000),
);

/** A 20 ms frame (mean power `power`) that is mostly one note of the hold melody, not speech. */
function isHoldMusic(samples: Float32Array, power: number): boolean {
  const note = Math.max(
    ...HOLD_NOTE_COEFFICIENTS.map((c) => tonePower(samples, samples.length, c)),
  );
  return note > 0.6 * power;
}

/**
 * The caller's phone media: receives the agent's PCMU RTP on 127.0.0.1 and measures it; sends
 * silence, speech and RFC 4733 DTMF events back to where the agent's RTP comes from.
 */
export class RtpPeer {
  readonly heard: HeardAudio = {
    firstSoundAt: undefined,
    frames: 0,
    soundFrames: 0,
    musicFrames: 0,
  };
  /** Sound frames per second of the call, by second since the first packet. */
  readonly soundBySecond: number[] = [];
  /** Unix ms of every frame with sound, in order (PCMU and PCMA). */
  readonly soundAt: number[] = [];
  /** RFC 4733 key presses received (once each, at their end packet), in order. */
  readonly keysReceived: string[] = [];
  #lastKeyTimestamp: number | undefined;
  private remote: { address: string; port: number } | undefined;
  private firstPacketAt: number | undefined;
  private seq = 0;
  private timestamp = 0;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);
  private pacer: NodeJS.Timeout | undefined;
  private queue: Buffer[] = [];
  /** Payload types of the audio received (telephone-events left out). */
  readonly payloadTypes = new Set<number>();
  /** G.722 only: the payloads received, for decodeG722 (sound is not measured per packet). */
  readonly g722Payloads: Buffer[] = [];
  private readonly payloadType: number;
  private readonly silence: Buffer;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
    private readonly threshold: number,
    readonly codec: PeerCodec,
  ) {
    this.payloadType = PAYLOAD_TYPE[codec];
    this.silence =
      codec === 'G722'
        ? g722Silence()
        : Buffer.alloc(SAMPLES_PER_PACKET, codec === 'PCMA' ? 0xd5 : 0xff);
    socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
  }

  static async open(threshold = 500, codec: PeerCodec = 'PCMU'): Promise<RtpPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const peer = new RtpPeer(socket, socket.address().port, threshold, codec);
    // Like a phone: send a packet every 20 ms (silence unless something is queued).
    peer.pacer = setInterval(() => peer.sendNext(), 20);
    return peer;
  }

  private onPacket(msg: Buffer, rinfo: dgram.RemoteInfo) {
    if (msg.length < 12 || (msg[0]! & 0xc0) !== 0x80) return;
    this.remote ??= { address: rinfo.address, port: rinfo.port };
    const type = msg[1]! & 0x7f;
    if (type === TELEPHONE_EVENT) {
      this.#onKeyEvent(msg);
      return;
    }
    this.payloadTypes.add(type);
    if (type !== this.payloadType) return;
    const now = Date.now();
    this.firstPacketAt ??= now;
    const cc = msg[0]! & 0x0f;
    const payload = msg.subarray(12 + cc * 4);
    if (this.codec === 'G722') {
      this.g722Payloads.push(Buffer.from(payload));
      this.heard.frames++;
      return;
    }
    const linear = this.codec === 'PCMA' ? alawToLinear : ulawToLinear;
    const samples = Float32Array.from(payload, linear);
    let sum = 0;
    for (const x of samples) sum += x * x;
    const rms = Math.sqrt(sum / Math.max(1, payload.length));
    this.heard.frames++;
    if (rms > this.threshold) {
      this.heard.soundFrames++;
      if (isHoldMusic(samples, sum / samples.length)) this.heard.musicFrames++;
      this.heard.firstSoundAt ??= now;
      this.soundAt.push(now);
      const second = Math.floor((now - this.firstPacketAt) / 1000);
      this.soundBySecond[second] = (this.soundBySecond[second] ?? 0) + 1;
    }
  }

  /** An event's end packet (sent three times, one RTP timestamp) is one key press. */
  #onKeyEvent(msg: Buffer) {
    const cc = msg[0]! & 0x0f;
    const payload = msg.subarray(12 + cc * 4);
    if (payload.length < 4 || (payload[1]! & 0x80) === 0) return;
    const timestamp = msg.readUInt32BE(4);
    if (timestamp === this.#lastKeyTimestamp) return;
    this.#lastKeyTimestamp = timestamp;
    this.keysReceived.push('0123456789*#ABCD'[payload[0]!] ?? '?');
  }

  /** Sound frames heard since `since` (unix ms), approximately by second buckets. */
  soundFramesSince(since: number): number {
    if (this.firstPacketAt === undefined) return 0;
    const from = Math.max(0, Math.floor((since - this.firstPacketAt) / 1000));
    return this.soundBySecond.slice(from).reduce((a, b) => a + (b ?? 0), 0);
  }

  private packet(payloadType: number, payload: Buffer, marker = false, advance = true): Buffer {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = (marker ? 0x80 : 0) | payloadType;
    header.writeUInt16BE(this.seq++ & 0xffff, 2);
    header.writeUInt32BE(this.timestamp >>> 0, 4);
    header.writeUInt32BE(this.ssrc >>> 0, 8);
    if (advance) this.timestamp += SAMPLES_PER_PACKET;
    return Buffer.concat([header, payload]);
  }

  private sendNext() {
    if (!this.remote) return;
    const next = this.queue.shift() ?? this.packet(this.payloadType, this.silence);
    this.socket.send(next, this.remote.port, this.remote.address);
  }

  /**
   * When the sound that was playing at `since` stopped: the last sound frame before the first
   * gap of at least `gapMs` (undefined while it goes on).
   */
  soundStoppedAfter(since: number, gapMs: number): number | undefined {
    let last = since;
    for (const at of this.soundAt) {
      if (at < since) continue;
      if (at - last >= gapMs) return last;
      last = at;
    }
    return Date.now() - last >= gapMs ? last : undefined;
  }

  /** Packets queued and not yet sent (50 a second). */
  queued(): number {
    return this.queue.length;
  }

  /** Queues speech (8 kHz mu-law) after what is already queued; a PCMU phone only. */
  say(ulaw: Buffer): void {
    if (this.codec !== 'PCMU')
      throw new Error(`say() speaks PCMU; this phone speaks ${this.codec}`);
    for (let at = 0; at < ulaw.length; at += SAMPLES_PER_PACKET) {
      const chunk = Buffer.alloc(SAMPLES_PER_PACKET, 0xff);
      ulaw.copy(chunk, 0, at, at + SAMPLES_PER_PACKET);
      this.queue.push(this.packet(this.payloadType, chunk));
    }
  }

  /** Queues an RFC 4733 key press of 100 ms (five updates, then three end packets). */
  pressKey(digit: string): void {
    const event = '0123456789*#ABCD'.indexOf(digit.toUpperCase());
    if (event < 0) throw new Error(`not a DTMF key: ${digit}`);
    const start = this.timestamp;
    for (let i = 1; i <= 8; i++) {
      const end = i > 5;
      const duration = Math.min(i, 5) * SAMPLES_PER_PACKET;
      const payload = Buffer.from([event, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);
      const saved = this.timestamp;
      this.timestamp = start;
      this.queue.push(this.packet(TELEPHONE_EVENT, payload, i === 1, false));
      this.timestamp = saved;
    }
    this.timestamp = start + 5 * SAMPLES_PER_PACKET;
  }

  close(): void {
    clearInterval(this.pacer);
    this.socket.close();
  }
}

/** A 16-bit sample to G.711 mu-law (ITU-T G.711, with the usual bias of 0x84). */
export function linearToUlaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(32635, Math.abs(sample)) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** 8 kHz 16-bit samples as mu-law bytes, ready for RtpPeer.say. */
export function samplesAsUlaw(samples: Int16Array): Buffer {
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToUlaw(samples[i]!);
  return out;
}

/**
 * A key pressed the way a provider without RFC 2833 sends it: 100 ms of its two tones in the
 * call's PCMU audio, then 150 ms of silence (test/inband-dtmf*.test.ts).
 */
export function keyTonesAsUlaw(key: string): Buffer {
  return samplesAsUlaw(new Int16Array([...dtmfTone(key, 100, 8000), ...silence(150, 8000)]));
}
