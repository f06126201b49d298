/**
 * The host's Silero model, in a worker thread: every call's VAD stream sends its windows here
 * (src/agent/vad/shared-session.ts), and the windows that arrived together run as one batch.
 * onnxruntime-node runs a session synchronously on the thread that calls it, so on the main
 * thread each inference held up every call's audio and events.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { STATE_SIZE, type FromWorker, type InferenceRequest, type ToWorker } from './messages.js';

const HALF = STATE_SIZE / 2;
const port = parentPort;
if (!port) throw new Error('the VAD inference worker runs in a worker thread');

const post = (message: FromWorker) => port.postMessage(message);

/** The model file the Silero plugin ships, next to its entry point. */
function modelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(
    path.dirname(require.resolve('@livekit/agents-plugin-silero')),
    'silero_vad.onnx',
  );
}

/** Runs requests of one sample rate and window size as one batch of the model. */
async function runBatch(session: InferenceSession, batch: InferenceRequest[]): Promise<void> {
  const n = batch.length;
  const width = batch[0]!.input.length;
  const input = new Float32Array(n * width);
  // The state is [2, batch, 128]: each stream's two layers go to their layer's block.
  const state = new Float32Array(n * STATE_SIZE);
  batch.forEach((r, i) => {
    input.set(r.input, i * width);
    state.set(r.state.subarray(0, HALF), i * HALF);
    state.set(r.state.subarray(HALF), n * HALF + i * HALF);
  });
  const out = await session.run({
    input: new Tensor('float32', input, [n, width]),
    state: new Tensor('float32', state, [2, n, HALF]),
    sr: new Tensor('int64', BigInt64Array.from([BigInt(batch[0]!.sampleRate)])),
  });
  const probabilities = out.output!.data as Float32Array;
  const next = out.stateN!.data as Float32Array;
  post({
    type: 'done',
    results: batch.map((r, i) => {
      const s = new Float32Array(STATE_SIZE);
      s.set(next.subarray(i * HALF, (i + 1) * HALF), 0);
      s.set(next.subarray(n * HALF + i * HALF, n * HALF + (i + 1) * HALF), HALF);
      return { id: r.id, probability: probabilities[i]!, state: s };
    }),
  });
}

async function main() {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(modelPath(), {
      interOpNumThreads: 1,
      intraOpNumThreads: 1,
      executionMode: 'sequential',
      executionProviders: [{ name: 'cpu' }],
    });
  } catch (error) {
    post({ type: 'failed', message: String(error) });
    return;
  }
  let queue: InferenceRequest[] = [];
  let draining = false;
  const drain = async () => {
    draining = true;
    while (queue.length > 0) {
      const taken = queue;
      queue = [];
      const groups = new Map<string, InferenceRequest[]>();
      for (const r of taken) {
        const key = `${r.sampleRate}/${r.input.length}`;
        const group = groups.get(key);
        if (group) group.push(r);
        else groups.set(key, [r]);
      }
      for (const batch of groups.values()) {
        try {
          await runBatch(session, batch);
        } catch (error) {
          post({ type: 'error', ids: batch.map((r) => r.id), message: String(error) });
        }
      }
    }
    draining = false;
  };
  port!.on('message', (message: ToWorker) => {
    if (message.type !== 'run') return;
    queue.push(...message.requests);
    // Messages that arrived in the same turn of the loop join the batch before it runs.
    if (!draining) setImmediate(() => void drain());
    draining = true;
  });
  post({ type: 'ready' });
}

void main();
