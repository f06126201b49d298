/**
 * STAND-IN for the paid OpenAI API (and the OpenAI-compatible servers: Groq, vLLM, Ollama...),
 * used only by tests. It answers the three endpoints @livekit/agents-plugin-openai 1.9 calls:
 * - `POST /v1/chat/completions` with `stream: true`: the configured `chatReply`, streamed as SSE
 *   chunks one word at a time, then a usage chunk and `[DONE]`;
 * - `POST /v1/audio/speech`: a 220 Hz tone of `secondsPerCharacter` per input character, as raw
 *   24 kHz 16-bit PCM (`response_format: pcm`, what the plugin asks for) or WAV;
 * - `POST /v1/audio/transcriptions` (multipart, a WAV file): `{ text: transcript }`.
 * `GET /v1/models` answers too (the LLM's prewarm). Every request is recorded.
 * Binds 127.0.0.1 on a free port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseWav, speechSpan, tonePcm } from './audio.js';

const SPEECH_SAMPLE_RATE = 24_000;

export interface ChatMessage {
  role: string;
  content: string | { type: string; text?: string }[] | null;
}

export interface ChatRequest {
  authorization: string | undefined;
  body: {
    model: string;
    messages: ChatMessage[];
    stream?: boolean;
    temperature?: number;
    [key: string]: unknown;
  };
}

export interface SpeechRequest {
  authorization: string | undefined;
  body: { model: string; input: string; voice: string; response_format?: string; speed?: number };
  /** Seconds of audio sent back. */
  audioSeconds: number;
}

export interface TranscriptionRequest {
  authorization: string | undefined;
  model: string | null;
  language: string | null;
  prompt: string | null;
  wav: { sampleRate: number; channels: number; seconds: number };
  /** Voiced part of the received audio, in seconds. */
  speech: { start: number; end: number } | undefined;
}

export interface OpenaiStandinOptions {
  chatReply?: string;
  /** A tool the model calls (when the request offers it and no tool result is in yet). */
  toolCall?: { name: string; arguments: Record<string, unknown> };
  transcript?: string;
  secondsPerCharacter?: number;
}

export class OpenaiStandin {
  readonly chatRequests: ChatRequest[] = [];
  readonly speechRequests: SpeechRequest[] = [];
  readonly transcriptionRequests: TranscriptionRequest[] = [];
  chatReply: string;
  toolCall: OpenaiStandinOptions['toolCall'];
  transcript: string;
  secondsPerCharacter: number;
  #server: Server;

  private constructor(options: OpenaiStandinOptions) {
    this.chatReply = options.chatReply ?? 'Hello from the stand-in.';
    this.toolCall = options.toolCall;
    this.transcript = options.transcript ?? 'hello';
    this.secondsPerCharacter = options.secondsPerCharacter ?? 0.05;
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(error) } }));
      });
    });
  }

  static async start(options: OpenaiStandinOptions = {}): Promise<OpenaiStandin> {
    const standin = new OpenaiStandin(options);
    await new Promise<void>((resolve) => standin.#server.listen(0, '127.0.0.1', resolve));
    return standin;
  }

  /** Base URL to put in a profile's `base_url` (with `/v1`, as OpenAI-compatible servers say). */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #route(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    const body = await readBody(req);
    const authorization = req.headers.authorization;
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: [{ id: 'stand-in', object: 'model' }] });
    } else if (req.method === 'POST' && path === '/v1/chat/completions') {
      this.#chat(res, { authorization, body: JSON.parse(body.toString()) });
    } else if (req.method === 'POST' && path === '/v1/audio/speech') {
      this.#speech(res, authorization, JSON.parse(body.toString()));
    } else if (req.method === 'POST' && path === '/v1/audio/transcriptions') {
      await this.#transcription(req, res, authorization, body);
    } else {
      sendJson(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    }
  }

  #chat(res: ServerResponse, request: ChatRequest) {
    this.chatRequests.push(request);
    if (!request.body.stream) {
      sendJson(res, 400, { error: { message: 'the stand-in only streams' } });
      return;
    }
    const id = `chatcmpl-standin-${this.chatRequests.length}`;
    const chunk = (delta: object, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: request.body.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const words = this.chatReply.split(/(?<= )/);
    const events = [
      chunk({ role: 'assistant', content: '' }, null),
      ...(this.#callsTool(request)
        ? [
            chunk(
              {
                tool_calls: [
                  {
                    index: 0,
                    id: `call_standin_${this.chatRequests.length}`,
                    type: 'function',
                    function: {
                      name: this.toolCall!.name,
                      arguments: JSON.stringify(this.toolCall!.arguments),
                    },
                  },
                ],
              },
              null,
            ),
            chunk({}, 'tool_calls'),
          ]
        : [...words.map((word) => chunk({ content: word }, null)), chunk({}, 'stop')]),
      {
        id,
        object: 'chat.completion.chunk',
        created: Math.floor(Date.now() / 1000),
        model: request.body.model,
        choices: [],
        usage: {
          prompt_tokens: 10,
          completion_tokens: words.length,
          total_tokens: 10 + words.length,
        },
      },
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  #callsTool(request: ChatRequest): boolean {
    const body = request.body as {
      tools?: { function?: { name?: string } }[];
      messages?: { role?: string }[];
    };
    if (!this.toolCall) return false;
    const offered = body.tools?.some((t) => t.function?.name === this.toolCall!.name) ?? false;
    return offered && !(body.messages ?? []).some((m) => m.role === 'tool');
  }

  #speech(res: ServerResponse, authorization: string | undefined, body: SpeechRequest['body']) {
    const pcm = tonePcm(body.input.length * this.secondsPerCharacter, SPEECH_SAMPLE_RATE);
    this.speechRequests.push({
      authorization,
      body,
      audioSeconds: pcm.length / 2 / SPEECH_SAMPLE_RATE,
    });
    const format = body.response_format ?? 'mp3';
    if (format === 'pcm') {
      res.writeHead(200, { 'content-type': 'audio/pcm' }).end(pcm);
    } else if (format === 'wav') {
      res.writeHead(200, { 'content-type': 'audio/wav' }).end(wavOf(pcm, SPEECH_SAMPLE_RATE));
    } else {
      sendJson(res, 400, { error: { message: `the stand-in cannot encode ${format}` } });
    }
  }

  async #transcription(
    req: IncomingMessage,
    res: ServerResponse,
    authorization: string | undefined,
    body: Buffer,
  ) {
    // The Fetch API's multipart parser, so the stand-in reads the form as a server would.
    const form = await new Request('http://standin/', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body,
    }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob)) {
      sendJson(res, 400, { error: { message: 'file is required' } });
      return;
    }
    const wav = parseWav(Buffer.from(await file.arrayBuffer()));
    const text = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value : null;
    };
    this.transcriptionRequests.push({
      authorization,
      model: text('model'),
      language: text('language'),
      prompt: text('prompt'),
      wav: {
        sampleRate: wav.sampleRate,
        channels: wav.channels,
        seconds: wav.samples.length / wav.channels / wav.sampleRate,
      },
      speech: wav.channels === 1 ? speechSpan(wav.samples, wav.sampleRate) : undefined,
    });
    sendJson(res, 200, { text: this.transcript });
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function wavOf(pcm: Buffer, sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}
