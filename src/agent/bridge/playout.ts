import {
  AudioFrame,
  AudioResampler,
  AudioResamplerQuality,
  type AudioSource,
} from '@livekit/rtc-node';
import { FrameChopper } from './pcm.js';

/**
 * Plays platform audio into the agent's AudioSource: resampled to the source's rate
 * (LOW quality: the low-latency setting), cut into 20 ms frames, queued with a bound.
 */
export class Playout {
  private queue: AudioFrame[] = [];
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly frameSamples: number;
  private readonly maxFrames: number;
  private readonly loop: Promise<void>;
  playedFrames = 0;
  droppedFrames = 0;

  constructor(
    private readonly source: AudioSource,
    maxQueuedSeconds: number,
    /** Each frame once it is handed to the source (what the caller hears). */
    private readonly onPlayed?: (frame: AudioFrame) => void,
  ) {
    this.frameSamples = source.sampleRate / 50;
    this.maxFrames = Math.ceil(maxQueuedSeconds * 50);
    this.loop = this.run();
  }

  /** Queues mono 16-bit PCM at `sampleRate`; frames beyond the queue's bound are dropped. */
  enqueue(samples: Int16Array, sampleRate: number): void {
    if (this.stopped || samples.length === 0) return;
    const resampled = this.resample(samples, sampleRate);
    const chopper = new FrameChopper(this.frameSamples);
    const frames = chopper.push(resampled);
    const tail = chopper.flush();
    if (tail) frames.push(tail);
    for (const data of frames) {
      if (this.queue.length >= this.maxFrames) {
        this.droppedFrames += 1;
        continue;
      }
      this.queue.push(new AudioFrame(data, this.source.sampleRate, 1, this.frameSamples));
    }
    this.wake?.();
  }

  /** Barge-in: forget everything not yet played, including the source's own buffer. */
  clear(): void {
    this.queue = [];
    this.source.clearQueue();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    this.wake?.();
    await this.loop;
  }

  // Each response is resampled on its own (push + flush), so no samples of it stay behind
  // in a resampler waiting for audio that may never come.
  private resample(samples: Int16Array, sampleRate: number): Int16Array {
    if (sampleRate === this.source.sampleRate) return samples;
    const resampler = new AudioResampler(
      sampleRate,
      this.source.sampleRate,
      1,
      AudioResamplerQuality.LOW,
    );
    try {
      const input = new AudioFrame(samples, sampleRate, 1, samples.length);
      const out = [...resampler.push(input), ...resampler.flush()];
      const joined = new Int16Array(out.reduce((n, f) => n + f.data.length, 0));
      let offset = 0;
      for (const frame of out) {
        joined.set(frame.data, offset);
        offset += frame.data.length;
      }
      return joined;
    } finally {
      resampler.close();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const frame = this.queue.shift();
      if (!frame) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      try {
        await this.source.captureFrame(frame);
        this.playedFrames += 1;
        this.onPlayed?.(frame);
      } catch {
        // The source was closed under us: the session is ending.
        return;
      }
    }
  }
}
