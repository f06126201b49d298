import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AudioResampler, AudioResamplerQuality, type AudioFrame } from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';
import { FrameChopper } from './pcm.js';

const RATE = 16_000;
const FRAME_SAMPLES = RATE / 50;
/** Frames a side may run ahead of the clock before its oldest are dropped (1 s). */
const MAX_QUEUED_FRAMES = 50;
const SILENCE = new Int16Array(FRAME_SAMPLES);

/**
 * Both sides of a bridged call into one stereo OGG Opus file through ffmpeg: the caller left
 * (the frames the platform gets), the platform right (the frames played to the caller). A
 * 20 ms clock pairs them, with silence for a side that has nothing, so both stay in time.
 */
export class BridgeCapture {
  readonly startedAt = Date.now();
  private readonly ffmpeg: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly caller: Int16Array[] = [];
  private readonly agent: Int16Array[] = [];
  private readonly toRate = new AudioResampler(48_000, RATE, 1, AudioResamplerQuality.LOW);
  private readonly chopper = new FrameChopper(FRAME_SAMPLES);
  private readonly clock: NodeJS.Timeout;
  private written = 0;
  private stopped = false;

  constructor(
    readonly outputPath: string,
    ffmpegPath: string,
    private readonly log: Logger,
  ) {
    mkdirSync(path.dirname(outputPath), { recursive: true });
    this.ffmpeg = spawn(
      ffmpegPath,
      [
        ...['-v', 'error', '-f', 's16le', '-ar', String(RATE), '-ac', '2', '-i', 'pipe:0'],
        // Pages every second: a capture cut short by a crash keeps all but the last one.
        ...['-c:a', 'libopus', '-b:a', '48k', '-page_duration', '1000000', '-y', outputPath],
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    this.ffmpeg.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.ffmpeg.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.ffmpeg.once('exit', (code) => {
        if (code !== 0 && !this.stopped) this.log.error({ code, stderr }, 'bridge capture failed');
        resolve();
      }),
    );
    this.clock = setInterval(() => this.writeDue(), 100);
  }

  /** A 20 ms frame of 16 kHz mono PCM the platform received from the caller. */
  callerFrame(frame: Int16Array): void {
    this.queue(this.caller, frame);
  }

  /** A frame played to the caller (at any rate the resampler takes; 48 kHz here). */
  agentFrame(frame: AudioFrame): void {
    if (this.stopped) return;
    for (const out of this.toRate.push(frame)) {
      for (const chunk of this.chopper.push(out.data)) this.queue(this.agent, chunk);
    }
  }

  /** Writes what is due, closes ffmpeg's input and waits for the file to be complete. */
  async stop(): Promise<void> {
    if (this.stopped) return this.exited;
    this.writeDue();
    this.stopped = true;
    clearInterval(this.clock);
    this.toRate.close();
    this.ffmpeg.stdin!.end();
    return this.exited;
  }

  private queue(side: Int16Array[], frame: Int16Array): void {
    if (this.stopped) return;
    side.push(frame);
    if (side.length > MAX_QUEUED_FRAMES) side.shift();
  }

  private writeDue(): void {
    if (this.stopped) return;
    const due = Math.floor((Date.now() - this.startedAt) / 20);
    const frames = due - this.written;
    if (frames <= 0) return;
    const out = Buffer.allocUnsafe(frames * FRAME_SAMPLES * 4);
    for (let f = 0; f < frames; f += 1) {
      const left = this.caller.shift() ?? SILENCE;
      const right = this.agent.shift() ?? SILENCE;
      for (let i = 0; i < FRAME_SAMPLES; i += 1) {
        const at = (f * FRAME_SAMPLES + i) * 4;
        out.writeInt16LE(left[i] ?? 0, at);
        out.writeInt16LE(right[i] ?? 0, at + 2);
      }
    }
    this.written = due;
    this.ffmpeg.stdin!.write(out);
  }
}
