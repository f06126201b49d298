import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import type { FromWorker, InferenceRequest, ToWorker } from './messages.js';

type Feeds = Record<'input' | 'state' | 'sr', { data: unknown }>;
type Pending = {
  resolve: (r: Awaited<ReturnType<InferenceSession['run']>>) => void;
  reject: (e: Error) => void;
};

const fromSource = import.meta.url.endsWith('.ts');

/**
 * Built, the worker is the .js next to this file. From source (tsx, tests) it is the .ts, and a
 * worker thread does not inherit tsx's loader: a two-line bootstrap registers it first (it finds
 * tsx from the working directory, the repository's, as `npm start` and the tests run).
 */
function startWorker(): Worker {
  if (!fromSource) return new Worker(new URL('./inference-worker.js', import.meta.url));
  const entry = new URL('./inference-worker.ts', import.meta.url).href;
  return new Worker(
    `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  );
}

/**
 * The Silero model session every VAD of the host shares: it stands where the plugin's
 * onnxruntime session would (`new silero.VAD(session, options)`), and sends each window to the
 * inference worker (inference-worker.ts), which runs the windows of all calls that arrived
 * together as one batch. The windows a turn of this thread's loop produced go in one message.
 */
export class SharedVadSession {
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #outbox: InferenceRequest[] = [];
  #flushScheduled = false;
  #ready: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;

  /** Starts the worker and loads the model, so the first call's first window does not wait. */
  start(): Promise<void> {
    this.#workerFor();
    return this.#ready!.promise;
  }

  /** The part of onnxruntime's InferenceSession the Silero plugin calls. */
  run(feeds: Feeds): Promise<Awaited<ReturnType<InferenceSession['run']>>> {
    const id = this.#nextId++;
    const sr = feeds.sr.data as BigInt64Array;
    this.#outbox.push({
      id,
      // Copies: the plugin reuses its buffers once this resolves.
      input: Float32Array.from(feeds.input.data as Float32Array),
      state: Float32Array.from(feeds.state.data as Float32Array),
      sampleRate: Number(sr[0]),
    });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** Inferences sent and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll(new Error('the VAD session was closed'));
    await worker?.terminate();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const requests = this.#outbox;
    this.#outbox = [];
    if (requests.length === 0) return;
    const message: ToWorker = { type: 'run', requests };
    this.#workerFor().postMessage(message);
  }

  #workerFor(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker();
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
    promise.catch(() => undefined);
    this.#ready = { promise, resolve, reject };
    // Calls keep the host alive, not the model.
    worker.unref();
    worker.on('message', (message: FromWorker) => this.#onMessage(message));
    const lost = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#ready?.reject(error);
      this.#failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the VAD inference worker exited (${code})`)));
    this.#worker = worker;
    return worker;
  }

  #onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'done':
        for (const r of message.results) {
          const pending = this.#pending.get(r.id);
          if (!pending) continue;
          this.#pending.delete(r.id);
          pending.resolve({
            output: { data: Float32Array.of(r.probability) },
            stateN: { data: r.state },
          } as never);
        }
        return;
      case 'error':
        for (const id of message.ids) this.#reject(id, new Error(message.message));
        return;
      case 'failed': {
        const worker = this.#worker;
        this.#worker = undefined;
        const error = new Error(`the VAD model could not be loaded: ${message.message}`);
        this.#ready?.reject(error);
        this.#failAll(error);
        void worker?.terminate();
        return;
      }
      case 'ready':
        this.#ready?.resolve();
        return;
    }
  }

  #reject(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    pending?.reject(error);
  }

  #failAll(error: Error): void {
    for (const id of [...this.#pending.keys()]) this.#reject(id, error);
  }
}
