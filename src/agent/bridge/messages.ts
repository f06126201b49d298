import { z } from 'zod';

/** Frames the platform may send. Anything else is logged (without content) and ignored. */
const responseFrame = z.object({
  type: z.literal('response'),
  data: z.object({
    text: z.string().max(100_000).optional(),
    audio: z
      .base64()
      .refine((value) => Buffer.byteLength(value, 'base64') % 2 === 0, 'odd byte count')
      .optional(),
    /** Rate of `audio`; 16000 when absent. */
    sample_rate: z.number().int().min(8_000).max(48_000).optional(),
  }),
});

const hangupFrame = z.object({
  type: z.literal('hangup'),
  data: z.object({ reason: z.string().max(1_000).optional() }).optional(),
});

const transferFrame = z.object({
  type: z.literal('transfer'),
  data: z.object({
    to: z.string().min(1).max(256),
    /** warm: a human is asked first (docs/bridge.md); cold when absent. */
    mode: z.enum(['cold', 'warm']).optional(),
    /** warm: what the human is told; the API makes one from the transcript when absent. */
    summary: z.string().min(1).max(2_000).optional(),
  }),
});

const clearFrame = z.object({ type: z.literal('clear') });

export const platformFrameSchema = z.discriminatedUnion('type', [
  responseFrame,
  hangupFrame,
  transferFrame,
  clearFrame,
]);

export type PlatformFrame = z.infer<typeof platformFrameSchema>;

export type ParsedPlatformFrame =
  | { ok: true; frame: PlatformFrame }
  | { ok: false; reason: 'binary' | 'json' | 'schema'; fields?: string[] };

export function parsePlatformFrame(data: Buffer, isBinary: boolean): ParsedPlatformFrame {
  if (isBinary) return { ok: false, reason: 'binary' };
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return { ok: false, reason: 'json' };
  }
  const result = platformFrameSchema.safeParse(json);
  if (result.success) return { ok: true, frame: result.data };
  // Paths only: issue messages could echo values the platform sent.
  return {
    ok: false,
    reason: 'schema',
    fields: result.error.issues.slice(0, 5).map((issue) => issue.path.join('.') || '(root)'),
  };
}

export function audioDataFrame(callId: string, audio: string, timestamp: number, sequence: number) {
  return JSON.stringify({
    type: 'audio_data',
    data: { call_id: callId, audio, timestamp, sequence },
  });
}

export function dtmfFrame(callId: string, digit: string, durationMs: number) {
  return JSON.stringify({
    type: 'dtmf',
    data: { call_id: callId, digit, duration_ms: durationMs },
  });
}

/** Who answered an outbound call, once machine detection decided (docs/bridge.md). */
export function machineDetectionFrame(
  callId: string,
  answeredBy: 'human' | 'machine' | 'unknown',
  onMachine: 'leave_message' | 'hang_up' | undefined,
) {
  return JSON.stringify({
    type: 'machine_detection',
    data: {
      call_id: callId,
      answered_by: answeredBy,
      ...(onMachine !== undefined && { on_machine: onMachine }),
    },
  });
}

/** A `transfer` frame: cold (a SIP REFER) or warm (a human is asked first). */
export interface TransferRequest {
  to: string;
  mode: 'cold' | 'warm';
  summary?: string;
}

/** Why a transfer the platform asked for did not happen (docs/bridge.md). */
export type TransferFailure = 'invalid_target' | 'refused' | 'failed';

export function transferFailedFrame(
  callId: string,
  to: string,
  reason: TransferFailure,
  code: string | undefined,
) {
  return JSON.stringify({
    type: 'transfer_failed',
    data: { call_id: callId, to, reason, ...(code !== undefined && { code }) },
  });
}
