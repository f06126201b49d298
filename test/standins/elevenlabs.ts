/**
 * STAND-IN for the paid ElevenLabs text-to-speech API, used only by tests. It speaks what
 * @livekit/agents-plugin-elevenlabs 1.9 uses:
 * - WebSocket `/v1/text-to-speech/{voice}/multi-stream-input`: per `context_id`, text messages
 *   (the first carries `voice_settings`), `flush: true` to speak what was sent, and
 *   `close_context: true`; answers `{ audio (base64 PCM), normalizedAlignment, contextId }`
 *   per flush and `{ isFinal: true, contextId }` when the context is closed;
 * - `POST /v1/text-to-speech/{voice}/stream?output_format=pcm_N`: raw PCM.
 * The audio is a 220 Hz tone of `secondsPerCharacter` per character at the rate named by
 * `output_format`. Everything received is recorded. Binds 127.0.0.1 on a free port.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { tonePcm } from './audio.js';

const PATH = /^\/v1\/text-to-speech\/([^/]+)\/(multi-stream-input|stream)$/;

export interface ElevenlabsContext {
  id: string;
  voiceSettings: unknown;
  /** Text of each flushed chunk, in order. */
  spoken: string[];
  audioSeconds: number;
  closed: boolean;
}

export interface ElevenlabsSession {
  voiceId: string;
  query: URLSearchParams;
  apiKey: string | undefined;
  sampleRate: number;
  messages: Record<string, unknown>[];
  contexts: Map<string, ElevenlabsContext>;
}

export class ElevenlabsStandin {
  readonly sessions: ElevenlabsSession[] = [];
  readonly httpRequests: { voiceId: string; query: URLSearchParams; body: unknown }[] = [];
  secondsPerCharacter: number;
  #server: Server;
  #wss = new WebSocketServer({ noServer: true });

  private constructor(secondsPerCharacter: number) {
    this.secondsPerCharacter = secondsPerCharacter;
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const match = PATH.exec(url.pathname);
      if (req.method !== 'POST' || match?.[2] !== 'stream' || !rateOf(url.searchParams)) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { text: string };
        this.httpRequests.push({ voiceId: match[1]!, query: url.searchParams, body });
        const rate = rateOf(url.searchParams);
        res.writeHead(200, { 'content-type': 'audio/pcm' });
        res.end(tonePcm(body.text.length * this.secondsPerCharacter, rate));
      });
    });
    this.#server.on('upgrade', (req, socket, head) => {
      const match = PATH.exec(new URL(req.url ?? '/', 'http://standin').pathname);
      if (match?.[2] !== 'multi-stream-input') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#multiStream(ws, req, match[1]!));
    });
  }

  static async start(options: { secondsPerCharacter?: number } = {}): Promise<ElevenlabsStandin> {
    const standin = new ElevenlabsStandin(options.secondsPerCharacter ?? 0.05);
    await new Promise<void>((resolve) => standin.#server.listen(0, '127.0.0.1', resolve));
    return standin;
  }

  /** Base URL to put in a profile's `base_url`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #multiStream(ws: WebSocket, req: IncomingMessage, voiceId: string) {
    const query = new URL(req.url ?? '/', 'http://standin').searchParams;
    if (!/^pcm_\d+$/.test(query.get('output_format') ?? '')) {
      ws.close(1008, 'the stand-in only produces pcm_N output formats');
      return;
    }
    const apiKey = req.headers['xi-api-key'];
    const session: ElevenlabsSession = {
      voiceId,
      query,
      apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey,
      sampleRate: rateOf(query),
      messages: [],
      contexts: new Map(),
    };
    this.sessions.push(session);
    const pending = new Map<string, string>();

    const speak = (context: ElevenlabsContext) => {
      const text = pending.get(context.id) ?? '';
      pending.set(context.id, '');
      if (text.trim() === '') return;
      const audio = tonePcm(text.length * this.secondsPerCharacter, session.sampleRate);
      const perChar = (this.secondsPerCharacter * 1000) | 0;
      context.spoken.push(text);
      context.audioSeconds += audio.length / 2 / session.sampleRate;
      ws.send(
        JSON.stringify({
          audio: audio.toString('base64'),
          contextId: context.id,
          isFinal: null,
          normalizedAlignment: {
            chars: [...text],
            charStartTimesMs: [...text].map((_, i) => i * perChar),
            charDurationsMs: [...text].map(() => perChar),
          },
        }),
      );
    };

    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as {
        text?: string;
        context_id?: string;
        flush?: boolean;
        close_context?: boolean;
        voice_settings?: unknown;
      };
      session.messages.push(message);
      const id = message.context_id;
      if (!id) {
        ws.send(JSON.stringify({ error: 'context_id is required', message: 'stand-in' }));
        return;
      }
      let context = session.contexts.get(id);
      if (!context) {
        context = {
          id,
          voiceSettings: message.voice_settings,
          spoken: [],
          audioSeconds: 0,
          closed: false,
        };
        session.contexts.set(id, context);
      }
      if (typeof message.text === 'string' && message.text !== ' ') {
        pending.set(id, (pending.get(id) ?? '') + message.text);
      }
      if (message.flush) speak(context);
      if (message.close_context) {
        speak(context);
        context.closed = true;
        ws.send(JSON.stringify({ isFinal: true, contextId: id }));
      }
    });
  }
}

/** Sample rate named by `output_format=pcm_N`; 0 for the formats the stand-in cannot make. */
function rateOf(query: URLSearchParams): number {
  const match = /^pcm_(\d+)$/.exec(query.get('output_format') ?? '');
  return match ? Number(match[1]) : 0;
}
