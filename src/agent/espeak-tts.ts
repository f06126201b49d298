import { AudioByteStream, shortuuid, tts, type APIConnectOptions } from '@livekit/agents';
import { spawn } from 'node:child_process';
import { espeakVoiceFor } from './offline/espeak.js';

const ESPEAK_SAMPLE_RATE = 22050;
const CACHE_ENTRIES = 64;
const MAX_TEXT_CHARS = 4000;

/** The PCM after a WAV file's "data" chunk header (espeak-ng writes 16-bit mono). */
export function wavPcm(wav: Buffer): Buffer {
  const at = wav.indexOf('data', 12, 'ascii');
  if (wav.toString('ascii', 0, 4) !== 'RIFF' || at < 0) {
    throw new Error('espeak-ng did not write a WAV file');
  }
  return wav.subarray(at + 8);
}

function synthesizeWithEspeak(text: string, voice: string, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('espeak-ng', ['--stdout', '-v', voice, '-s', '165', '--', text], {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(wavPcm(Buffer.concat(chunks)));
      else reject(new Error(`espeak-ng exited with ${code}: ${stderr.trim().slice(0, 200)}`));
    });
  });
}

/**
 * Text to speech with the local espeak-ng: the offline profile's voice, needing no API key.
 * Phrases are cached: an IVR says the same prompts on every call.
 */
export class EspeakTTS extends tts.TTS {
  label = 'espeak-ng.TTS';
  readonly #voice: string;
  readonly #cache = new Map<string, Buffer>();

  constructor(options: { language: string; voice?: string }) {
    super(ESPEAK_SAMPLE_RATE, 1, { streaming: false });
    this.#voice = espeakVoiceFor(options.language, options.voice);
  }

  override get model(): string {
    return `espeak-ng:${this.#voice}`;
  }

  override get provider(): string {
    return 'espeak-ng';
  }

  async pcm(text: string, signal: AbortSignal): Promise<Buffer> {
    const cached = this.#cache.get(text);
    if (cached) {
      this.#cache.delete(text);
      this.#cache.set(text, cached);
      return cached;
    }
    const pcm = await synthesizeWithEspeak(text.slice(0, MAX_TEXT_CHARS), this.#voice, signal);
    this.#cache.set(text, pcm);
    if (this.#cache.size > CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    return pcm;
  }

  synthesize(
    text: string,
    connOptions?: APIConnectOptions,
    abortSignal?: AbortSignal,
  ): EspeakChunkedStream {
    return new EspeakChunkedStream(this, text, connOptions, abortSignal);
  }

  stream(): tts.SynthesizeStream {
    throw new Error('espeak-ng synthesizes whole sentences; use it through a StreamAdapter');
  }
}

class EspeakChunkedStream extends tts.ChunkedStream {
  label = 'espeak-ng.ChunkedStream';
  readonly #tts: EspeakTTS;

  constructor(
    engine: EspeakTTS,
    text: string,
    connOptions?: APIConnectOptions,
    abortSignal?: AbortSignal,
  ) {
    super(text, engine, connOptions, abortSignal);
    this.#tts = engine;
  }

  protected async run(): Promise<void> {
    try {
      const pcm = await this.#tts.pcm(this.inputText, this.abortSignal);
      const requestId = shortuuid();
      const bytes = new AudioByteStream(ESPEAK_SAMPLE_RATE, 1);
      const frames = [...bytes.write(pcm), ...bytes.flush()];
      frames.forEach((frame, i) => {
        this.queue.put({ requestId, segmentId: requestId, frame, final: i === frames.length - 1 });
      });
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') return;
      throw error;
    } finally {
      this.queue.close();
    }
  }
}
