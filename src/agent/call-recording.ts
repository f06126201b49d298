import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { JobContext, voice } from '@livekit/agents';
import type { Logger } from '../config/logger.js';
import { oggOpusDuration, type RecordingReport } from '../recordings/index.js';
import type { CallReport } from './gateway-api.js';
import { parseJobMetadata } from './job-metadata.js';
import type { ProfileSettings } from './profile.js';

const run = promisify(execFile);
const PARTIAL_DIR = 'partial';

type Report = (extra: Partial<CallReport>) => Promise<void>;
type RecordingSettings = NonNullable<ProfileSettings['recording']>;

/** The ffmpeg the worker converts with (LIVEKIT_FFMPEG_PATH, as the agents library reads it). */
const ffmpegPath = () => process.env.LIVEKIT_FFMPEG_PATH || 'ffmpeg';

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

/**
 * A call's recording with the agents library's own recorder (RecorderIO: both sides, stereo
 * Opus in OGG through ffmpeg). The capture is written straight into RECORDINGS_DIR/partial, and
 * the API learns where at once: if the job process dies, ffmpeg still closes the file at the
 * end of its input and the API serves what was captured. After a normal end, the capture is cut
 * to the answered part of the call, converted per the profile, and reported as ready.
 */
export function prepareCallRecording(
  ctx: JobContext,
  session: voice.AgentSession,
  settings: ProfileSettings,
  options: { recordingsDir: string; recovery: boolean; log: Logger },
): CallRecording {
  const rec = effectiveRecording(settings, ctx.job.metadata);
  if (!rec?.enabled || options.recovery || settings.mode === 'bridge') {
    return { startOptions: {}, announce: undefined, answered: () => {}, ended: () => {} };
  }
  const { recordingsDir, log } = options;
  const name = `job-${ctx.job.id}`.replace(/[^A-Za-z0-9_-]/g, '_');
  // The library writes `${ctx.sessionDirectory}/audio.ogg`: point it into the shared folder.
  ctx._sessionDirectory = path.join(recordingsDir, PARTIAL_DIR, name);
  let answeredAt: number | undefined;
  let endedAt: number | undefined;
  let report: Report | undefined;
  const meta = { format: rec.format, channels: rec.channels, retention_days: rec.retention_days };

  const finalize = async () => {
    const recorder = session._recorderIO;
    const raw = recorder?.outputPath;
    const t0 = recorder?.recordingStartedAt;
    if (!report || !raw || t0 === undefined || answeredAt === undefined) return;
    const end = endedAt ?? Date.now();
    const file = `${name}.${rec.format}`;
    const output = path.join(recordingsDir, file);
    try {
      await run(
        ffmpegPath(),
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
  // Runs after the session (and with it the recorder and its ffmpeg) closed.
  ctx.addShutdownCallback(finalize);

  return {
    startOptions: { record: { audio: true, traces: false, logs: false, transcript: false } },
    announce: rec.announce,
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
