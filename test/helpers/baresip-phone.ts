import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePortBlock, freeTcpPort } from '../../scripts/stack/ports.js';

/**
 * baresip (Debian 12: 1.0.0 on libre 1.1) as a real softphone on loopback: its own config
 * folder, one account, no sound card (a sine tone as the microphone, received audio dumped to
 * WAV by `sndfile`), driven and watched over `ctrl_tcp` (netstring JSON). baresip 1.0 answers
 * only MD5 digest and gives up on a 401 that also offers SHA-256, so the edge it registers with
 * must challenge with MD5 alone (digestAlgorithms ['MD5']).
 */
export interface BaresipOptions {
  username: string;
  password: string;
  /** Where REGISTERs and calls go (the edge). */
  proxy: { host: string; port: number };
  domain?: string;
  /** Answer incoming calls at once (default), or only ring. */
  answer?: 'auto' | 'manual';
  /** The tone it sends as its microphone, Hz (ausine). */
  toneHz?: number;
  /** Registration interval, seconds; 0: never registers (calls only). */
  regint?: number;
  /** The loopback address it binds (default 127.0.0.1). */
  host?: string;
  /** How it reaches the proxy (default UDP). */
  transport?: 'udp' | 'tcp';
}

export interface BaresipEvent {
  type: string;
  direction?: string;
  peeruri?: string;
  param?: string;
  at: number;
}

export class BaresipPhone {
  readonly events: BaresipEvent[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #responses: ((data: { ok: boolean; data: string }) => void)[] = [];

  private constructor(
    readonly dir: string,
    readonly host: string,
    readonly sipPort: number,
    private readonly child: ChildProcess,
    private readonly socket: net.Socket,
    private readonly exited: Promise<void>,
  ) {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Netstrings: "<length>:<json>,"; bounded by the buffer itself.
      for (;;) {
        const colon = buffer.indexOf(58);
        if (colon < 0) break;
        const length = Number(buffer.subarray(0, colon).toString());
        if (buffer.length < colon + length + 2) break;
        this.#onMessage(buffer.subarray(colon + 1, colon + 1 + length).toString());
        buffer = buffer.subarray(colon + length + 2);
      }
    });
  }

  static async start(options: BaresipOptions): Promise<BaresipPhone> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-baresip-'));
    const host = options.host ?? '127.0.0.1';
    // baresip listens on the SIP port for UDP and TCP, and on the next one for TLS.
    const sipPort = await freePortBlock(2);
    const ctrlPort = await freeTcpPort();
    writeFileSync(
      path.join(dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen ${host}:${sipPort}`,
        `net_interface ${host}`,
        'audio_player aubridge,nowhere',
        'audio_alert aubridge,nowhere',
        `audio_source ausine,${options.toneHz ?? 440}`,
        // ausine makes 48 kHz stereo only; baresip resamples to the codec's 8 kHz.
        'ausrc_srate 48000',
        'ausrc_channels 2',
        'auplay_srate 48000',
        'audio_level no',
        'rtp_ports 40000-49999',
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        'module ausine.so',
        'module aubridge.so',
        'module sndfile.so',
        `snd_path ${dir}`,
        'module_app account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        '',
      ].join('\n'),
    );
    const domain = options.domain ?? 'sip.voice-gateway.local';
    writeFileSync(
      path.join(dir, 'accounts'),
      `<sip:${options.username}@${domain}>;auth_pass=${options.password};` +
        `outbound="sip:${options.proxy.host}:${options.proxy.port}${options.transport === 'tcp' ? ';transport=tcp' : ''}";` +
        `regint=${options.regint ?? 600};answermode=${options.answer ?? 'auto'}\n`,
    );
    const log = createWriteStream(path.join(dir, 'baresip.log'));
    const child = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const socket = await connectWithin(ctrlPort, 10_000, exited);
      return new BaresipPhone(dir, host, sipPort, child, socket, exited);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`baresip did not start (log: ${path.join(dir, 'baresip.log')})`, {
        cause: error,
      });
    }
  }

  #onMessage(text: string) {
    const message = JSON.parse(text) as Record<string, unknown>;
    if (message.response) {
      this.#responses.shift()?.({ ok: message.ok === true, data: String(message.data ?? '') });
      return;
    }
    if (!message.event) return;
    this.events.push({
      type: String(message.type),
      direction: message.direction as string | undefined,
      peeruri: message.peeruri as string | undefined,
      param: message.param as string | undefined,
      at: Date.now(),
    });
    for (const wake of this.#waiters) wake();
  }

  /** A menu command over ctrl_tcp (dial, hangup, reginfo, ...); its answer. */
  command(command: string, params = ''): Promise<{ ok: boolean; data: string }> {
    const body = JSON.stringify({ command, params, token: command });
    return new Promise((resolve) => {
      this.#responses.push(resolve);
      this.socket.write(`${Buffer.byteLength(body)}:${body},`);
    });
  }

  /** The first event of `type` (after index `from`), within `timeoutMs`; undefined otherwise. */
  async waitFor(type: string, timeoutMs: number, from = 0): Promise<BaresipEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find((e) => e.type === type);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let wake = () => {};
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.#waiters.add(wake);
      });
      this.#waiters.delete(wake);
    }
  }

  /** The WAV files of what this phone received (one per call, `sndfile`'s decode side). */
  receivedRecordings(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('-dec.wav'))
      .sort()
      .map((f) => path.join(this.dir, f));
  }

  get logFile(): string {
    return path.join(this.dir, 'baresip.log');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await Promise.race([this.command('quit'), sleep(1000)]);
    this.socket.destroy();
    if (await settles(this.exited, 3000)) return;
    this.child.kill('SIGKILL');
    await settles(this.exited, 3000);
  }
}

/** Loudness of a 16-bit PCM WAV per 20 ms: the share of frames louder than `threshold` RMS. */
export function wavLoudness(file: string, threshold = 300) {
  const data = readFileSync(file);
  // The canonical 44-byte header sndfile writes; the sample rate is at byte 24.
  const rate = data.readUInt32LE(24);
  const channels = data.readUInt16LE(22);
  const samples = new Int16Array(data.buffer, data.byteOffset + 44, (data.length - 44) >> 1);
  const frame = (rate / 50) * channels;
  let loud = 0;
  let frames = 0;
  let crossings = 0;
  for (let start = 0; start + frame <= samples.length; start += frame) {
    let sum = 0;
    for (let i = start; i < start + frame; i += 1) sum += samples[i]! * samples[i]!;
    frames += 1;
    if (Math.sqrt(sum / frame) > threshold) loud += 1;
  }
  for (let i = channels; i < samples.length; i += channels)
    if (samples[i - channels]! < 0 !== samples[i]! < 0) crossings += 1;
  const seconds = samples.length / channels / rate;
  return {
    seconds,
    loudShare: frames ? loud / frames : 0,
    /** Zero crossings per second / 2: the frequency of a pure tone. */
    toneHz: seconds ? crossings / seconds / 2 : 0,
  };
}

function connectWithin(port: number, timeoutMs: number, exited: Promise<void>) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  const attempt = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  const loop = async (): Promise<net.Socket> => {
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (gone || Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  };
  return loop();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function settles(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
}
