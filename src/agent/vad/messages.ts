/** One Silero inference: a window with its context, and the stream's recurrent state. */
export interface InferenceRequest {
  id: number;
  /** context + window samples, float32 in [-1, 1]. */
  input: Float32Array;
  /** [2, 1, 128] */
  state: Float32Array;
  sampleRate: number;
}

export interface InferenceResult {
  id: number;
  probability: number;
  state: Float32Array;
}

export type ToWorker = { type: 'run'; requests: InferenceRequest[] };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'done'; results: InferenceResult[] }
  | { type: 'error'; ids: number[]; message: string };

/** The model's recurrent state per stream: 2 layers of 128. */
export const STATE_SIZE = 256;
