import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { voice } from '@livekit/agents';
import type { CallContext } from '../callhost/call-context.js';
import type { Logger } from '../kernel/logger.js';
import { oggOpusDuration, type RecordingReport } from '../contract/index.js';
import type { CallReport } from './gateway-api.js';
import { parseJobMetadata } from './job-metadata.js';
import type { ProfileSettings } from './profile.js';
import { BridgeCapture } from './bridge/capture.js';

const run = promisify(execFile);
const PARTIAL_DIR = 'partial';

type Report = (extra: Partial<CallReport>) => Promise<void>;
type RecordingSettings = NonNullable<ProfileSettings['recording']>;

interface RecordingOptions {
  recordingsDir: string;
  /** LIVEKIT_FFMPEG_PATH: the ffmpeg that converts the capture (the agents library reads it too). */
  ffmpegPath: string;
  log: Logger;
}

/** ffmpeg arguments turning the raw capture (stereo Opus, caller left) into the profile's file. */
export function conversionArgs(
  input: string,
  output: string,
  settings: RecordingSettings,
  offsetSeconds: number,
  durationSeconds: number,
): string[] {
  const args = ['-y', '-v', 'error', '-ss', offsetSeconds.toFixed(3), '-i', input];
  args.push('-t', durationSeconds.toFixed(3));
  if (settings.channels === 'mixed') args.push('-af', 'pan=mono|c0=c0+c1');
  if (settings.format === 'wav') args.push('-c:a', 'pcm_s16le', '-ar', '16000');
  else args.push('-c:a', 'libopus', '-b:a', settings.channels === 'mixed' ? '32k' : '48k');
  return [...args, output];
}

/**
 * How this call is recorded: the call's own setting (POST /api/calls `recording`, carried in
 * the job metadata) wins over the profile's; `false` there turns the profile's off.
 */
export function effectiveRecording(
  settings: ProfileSettings,
  jobMetadata: string | undefined,
): RecordingSettings | undefined {
  const perCall = parseJobMetadata(jobMetadata).recording;
  if (perCall === false) return undefined;
  return perCall ?? settings.recording;
}

export interface CallRecording {
  /** The session.start() option: LiveKit's RecorderIO when the profile records. */
  readonly startOptions: { record?: Parameters<voice.AgentSession['start']>[0]['record'] };
  readonly announce: string | undefined;
  answered(report: Report): void;
  ended(): void;
}

const captureName = (ctx: CallContext) => `job-${ctx.job.id}`.replace(/[^A-Za-z0-9_-]/g, '_');

/** Where a call's capture is written while the call goes on: RECORDINGS_DIR/partial/<job>/. */
function rawCapturePath(ctx: CallContext, recordingsDir: string): string {
  return path.join(recordingsDir, PARTIAL_DIR, captureName(ctx), 'audio.ogg');
}

/** Where a capture is being written, and when it began (ms since the epoch). */
interface Capture {
  outputPath: string | undefined;
  startedAt: number | undefined;
}

interface RecordingLifecycle {
  answered(report: Report): void;
  ended(): void;
}

/**
 * What every recording does around its capture. The capture is written straight into
 * RECORDINGS_DIR/partial, and the API learns where at once: if the job process dies, ffmpeg
 * still closes the file at the end of its input and the API serves what was captured. After a
 * normal end, the capture is cut to the answered part of the call, converted per the settings,
 * and reported as ready.
 */
function recordingLifecycle(
  ctx: CallContext,
  rec: RecordingSettings,
  options: RecordingOptions,
  capture: () => Capture,
): RecordingLifecycle {
  const { recordingsDir, ffmpegPath, log } = options;
  const name = captureName(ctx);
  const rawPath = rawCapturePath(ctx, recordingsDir);
  let answeredAt: number | undefined;
  let endedAt: number | undefined;
  let report: Report | undefined;
  const meta = { format: rec.format, channels: rec.channels, retention_days: rec.retention_days };

  const finalize = async () => {
    const { outputPath: raw, startedAt: t0 } = capture();
    if (!report) {
      // Never answered: nobody was told of the capture, so it goes.
      await rm(path.dirname(rawPath), { recursive: true, force: true });
      return;
    }
    if (!raw || t0 === undefined || answeredAt === undefined) return;
    const end = endedAt ?? Date.now();
    const file = `${name}.${rec.format}`;
    const output = path.join(recordingsDir, file);
    try {
      await run(
        ffmpegPath,
        conversionArgs(raw, output, rec, (answeredAt - t0) / 1000, (end - answeredAt) / 1000),
        { timeout: 120_000 },
      );
      log.info(
        { startMs: answeredAt - t0, durationMs: end - answeredAt },
        'call recording cut to the answered call',
      );
      const { size } = await stat(output);
      const duration =
        rec.format === 'ogg'
          ? await oggOpusDuration(output)
          : (size - 44) / (16000 * 2 * (rec.channels === 'mixed' ? 1 : 2));
      await report({
        recording: {
          status: 'ready',
          file,
          ...meta,
          size_bytes: size,
          duration_seconds: Math.round((duration ?? 0) * 1000) / 1000,
        },
      });
      await rm(path.dirname(raw), { recursive: true, force: true });
    } catch (error) {
      // The raw capture stays where the API already knows it is.
      log.error({ err: error }, 'recording conversion failed; the raw capture is kept');
      const size = (await stat(raw).catch(() => undefined))?.size ?? 0;
      await report({
        recording: {
          status: 'partial',
          file: path.relative(recordingsDir, raw),
          ...meta,
          format: 'ogg',
          channels: 'stereo',
          size_bytes: size,
        },
      });
    }
  };
  // Runs after the session (and with it the capture's ffmpeg) closed.
  ctx.addShutdownCallback(finalize);

  return {
    answered(send) {
      answeredAt = Date.now();
      report = send;
      void mkdir(recordingsDir, { recursive: true }).then(() =>
        send({
          recording: {
            status: 'recording',
            file: path.posix.join(PARTIAL_DIR, name, 'audio.ogg'),
            ...meta,
            format: 'ogg',
            channels: 'stereo',
            started_at: new Date(answeredAt!).toISOString(),
          } satisfies RecordingReport,
        }),
      );
    },
    ended() {
      endedAt ??= Date.now();
    },
  };
}

const notRecorded: CallRecording = {
  startOptions: {},
  announce: undefined,
  answered: () => {},
  ended: () => {},
};

/**
 * A call's recording with the agents library's own recorder (RecorderIO: both sides, stereo
 * Opus in OGG through ffmpeg), which writes `${ctx.sessionDirectory}/audio.ogg`.
 */
export function prepareCallRecording(
  ctx: CallContext,
  session: voice.AgentSession,
  settings: ProfileSettings,
  options: RecordingOptions & { recovery: boolean },
): CallRecording {
  const rec = effectiveRecording(settings, ctx.job.metadata);
  if (!rec?.enabled || options.recovery || settings.mode === 'bridge') return notRecorded;
  const lifecycle = recordingLifecycle(ctx, rec, options, () => ({
    outputPath: session._recorderIO?.outputPath,
    startedAt: session._recorderIO?.recordingStartedAt,
  }));
  // Point the library's session folder into the shared one.
  ctx.sessionDirectory = path.dirname(rawCapturePath(ctx, options.recordingsDir));
  return {
    startOptions: { record: { audio: true, traces: false, logs: false, transcript: false } },
    announce: rec.announce,
    answered: lifecycle.answered,
    ended: lifecycle.ended,
  };
}

/**
 * A bridged call's recording: the caller as the platform hears it and the platform's audio as
 * it is played, captured by the bridge itself into the same stereo OGG the recorder makes.
 */
export function prepareBridgeRecording(
  ctx: CallContext,
  settings: ProfileSettings,
  options: RecordingOptions & { recovery: boolean },
): { capture: BridgeCapture | undefined; recording: CallRecording } {
  const rec = effectiveRecording(settings, ctx.job.metadata);
  if (!rec?.enabled || options.recovery) return { capture: undefined, recording: notRecorded };
  const capture = new BridgeCapture(
    rawCapturePath(ctx, options.recordingsDir),
    options.ffmpegPath,
    options.log,
  );
  const lifecycle = recordingLifecycle(ctx, rec, options, () => capture);
  return {
    capture,
    recording: {
      startOptions: {},
      announce: rec.announce,
      answered: lifecycle.answered,
      ended: lifecycle.ended,
    },
  };
}
