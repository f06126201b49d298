import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { tonePcm } from '../test/standins/audio.js';

/** Seconds of the platform's answer: longer than the window the bench measures for gaps. */
const ANSWER_SECONDS = 7;

/**
 * A stand-in for a customer's AI platform (bridge mode, docs/bridge.md) on loopback: it takes
 * every call's stream and answers each once the caller's audio flows (the call is answered),
 * the way a platform greets. What it costs to bridge a call is then the call host's alone.
 */
export async function startBridgePlatform(): Promise<{ url: string; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const answer = JSON.stringify({
    type: 'response',
    data: { text: 'Hello', audio: tonePcm(ANSWER_SECONDS, 16_000).toString('base64') },
  });
  server.on('connection', (socket) => {
    let answered = false;
    socket.on('message', (data) => {
      if (answered) return;
      const frame = JSON.parse(String(data)) as { type?: string };
      if (frame.type !== 'audio_data') return;
      answered = true;
      socket.send(answer);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/calls`,
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
