/**
 * STAND-IN for the paid Deepgram cloud API, used only by tests. It speaks the two WebSocket
 * protocols the @livekit/agents-plugin-deepgram 1.9 plugin uses:
 * - live STT `/v1/listen`: takes linear16 audio at the rate in the query, marks speech where
 *   10 ms windows are voiced, answers `SpeechStarted`, interim `Results` while speech goes on
 *   and a final `Results` (is_final + speech_final) after `endpointSilenceMs` of silence, on
 *   `Finalize` or on `CloseStream`. The transcript is the configured `transcript`, so tests are
 *   deterministic; the words are spread over the measured speech.
 * - streaming TTS `/v1/speak`: answers each `Flush` with a 220 Hz tone lasting
 *   `secondsPerCharacter` per character of the text spoken so far, then `Flushed`.
 * Everything received is recorded for assertions. Binds 127.0.0.1 on a free port.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { pcm16, tonePcm, VOICE_RMS } from './audio.js';

export interface ListenSession {
  query: URLSearchParams;
  authorization: string | undefined;
  sampleRate: number;
  encoding: string | null;
  channels: number;
  /** Audio bytes received. */
  bytes: number;
  /** Start and end (seconds into the received audio) of the voiced part, once there is one. */
  speech: { start: number; end: number } | undefined;
  /** `type` of every JSON message the client sent (KeepAlive, Finalize, CloseStream). */
  controlMessages: string[];
  /** Every Results message sent, in order. */
  resultsSent: { transcript: string; isFinal: boolean; speechFinal: boolean }[];
  closed: boolean;
}

export interface SpeakSession {
  query: URLSearchParams;
  authorization: string | undefined;
  texts: string[];
  controlMessages: string[];
  /** Seconds of audio sent back. */
  audioSeconds: number;
}

export interface DeepgramStandinOptions {
  transcript?: string;
  endpointSilenceMs?: number;
  secondsPerCharacter?: number;
}

export class DeepgramStandin {
  readonly listenSessions: ListenSession[] = [];
  readonly speakSessions: SpeakSession[] = [];
  transcript: string;
  endpointSilenceMs: number;
  secondsPerCharacter: number;
  #server: Server;
  #wss = new WebSocketServer({ noServer: true });

  private constructor(options: DeepgramStandinOptions) {
    this.transcript = options.transcript ?? 'hello';
    this.endpointSilenceMs = options.endpointSilenceMs ?? 500;
    this.secondsPerCharacter = options.secondsPerCharacter ?? 0.05;
    this.#server = createServer((_req, res) => res.writeHead(404).end());
    this.#server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://standin').pathname;
      if (path !== '/v1/listen' && path !== '/v1/speak') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) =>
        path === '/v1/listen' ? this.#listen(ws, req) : this.#speak(ws, req),
      );
    });
  }

  static async start(options: DeepgramStandinOptions = {}): Promise<DeepgramStandin> {
    const standin = new DeepgramStandin(options);
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
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #listen(ws: WebSocket, req: IncomingMessage) {
    const query = new URL(req.url ?? '/', 'http://standin').searchParams;
    const session: ListenSession = {
      query,
      authorization: req.headers.authorization,
      sampleRate: Number(query.get('sample_rate')),
      encoding: query.get('encoding'),
      channels: Number(query.get('channels') ?? 1),
      bytes: 0,
      speech: undefined,
      controlMessages: [],
      resultsSent: [],
      closed: false,
    };
    this.listenSessions.push(session);
    const requestId = randomUUID();
    const windowSamples = Math.round(session.sampleRate / 100);
    let pending = Buffer.alloc(0);
    let windowsSeen = 0;
    let silentWindows = 0;
    let utterance: { start: number; end: number } | undefined;
    let interimsSent = 0;

    const results = (isFinal: boolean, speechFinal: boolean, words: string[]) => {
      const span = utterance ?? { start: 0, end: 0 };
      const step = (span.end - span.start) / Math.max(1, words.length);
      const transcript = words.join(' ');
      session.resultsSent.push({ transcript, isFinal, speechFinal });
      ws.send(
        JSON.stringify({
          type: 'Results',
          channel_index: [0, 1],
          start: span.start,
          duration: span.end - span.start,
          is_final: isFinal,
          speech_final: speechFinal,
          from_finalize: false,
          channel: {
            alternatives: [
              {
                transcript,
                confidence: 0.99,
                words: words.map((word, i) => ({
                  word: word.toLowerCase(),
                  punctuated_word: word,
                  start: span.start + i * step,
                  end: span.start + (i + 1) * step,
                  confidence: 0.99,
                })),
              },
            ],
          },
          metadata: { request_id: requestId, model_info: { name: 'stand-in' } },
        }),
      );
    };
    const finishUtterance = (speechFinal: boolean) => {
      if (!utterance) return;
      results(true, speechFinal, this.transcript.split(/\s+/));
      utterance = undefined;
      interimsSent = 0;
    };

    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const message = JSON.parse(data.toString()) as { type: string };
        session.controlMessages.push(message.type);
        if (message.type === 'Finalize') finishUtterance(false);
        if (message.type === 'CloseStream') {
          finishUtterance(false);
          ws.send(JSON.stringify({ type: 'Metadata', request_id: requestId }));
          ws.close(1000);
        }
        return;
      }
      session.bytes += data.length;
      pending = Buffer.concat([pending, data]);
      const windowBytes = windowSamples * 2 * session.channels;
      while (pending.length >= windowBytes) {
        const samples = pcm16(pending.subarray(0, windowBytes));
        pending = pending.subarray(windowBytes);
        let sum = 0;
        for (const s of samples) sum += s * s;
        const voiced = Math.sqrt(sum / samples.length) > VOICE_RMS;
        const at = windowsSeen / 100;
        windowsSeen += 1;
        if (voiced) {
          silentWindows = 0;
          session.speech = { start: session.speech?.start ?? at, end: at + 0.01 };
          if (!utterance) {
            utterance = { start: at, end: at + 0.01 };
            ws.send(JSON.stringify({ type: 'SpeechStarted', channel: [0], timestamp: at }));
          }
          utterance.end = at + 0.01;
          // One interim per half second of speech, growing word by word.
          const due = Math.floor((utterance.end - utterance.start) / 0.5);
          if (due > interimsSent) {
            interimsSent = due;
            const words = this.transcript.split(/\s+/);
            results(false, false, words.slice(0, Math.min(words.length, due)));
          }
        } else if (utterance && ++silentWindows * 10 >= this.endpointSilenceMs) {
          finishUtterance(true);
        }
      }
    });
    ws.on('close', () => {
      session.closed = true;
    });
  }

  #speak(ws: WebSocket, req: IncomingMessage) {
    const query = new URL(req.url ?? '/', 'http://standin').searchParams;
    const session: SpeakSession = {
      query,
      authorization: req.headers.authorization,
      texts: [],
      controlMessages: [],
      audioSeconds: 0,
    };
    this.speakSessions.push(session);
    const sampleRate = Number(query.get('sample_rate') ?? 24000);
    let unspoken = '';
    let flushes = 0;
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; text?: string };
      session.controlMessages.push(message.type);
      if (message.type === 'Speak') {
        session.texts.push(message.text ?? '');
        unspoken += message.text ?? '';
      } else if (message.type === 'Flush') {
        const seconds = unspoken.trim().length * this.secondsPerCharacter;
        unspoken = '';
        const audio = tonePcm(seconds, sampleRate);
        // Sent in pieces that do not line up with frames, as the real service does.
        for (let at = 0; at < audio.length; at += 4801) ws.send(audio.subarray(at, at + 4801));
        session.audioSeconds += audio.length / 2 / sampleRate;
        ws.send(JSON.stringify({ type: 'Flushed', sequence_id: flushes++ }));
      } else if (message.type === 'Close') {
        ws.close(1000);
      }
    });
  }
}
