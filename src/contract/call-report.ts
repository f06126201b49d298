import { z } from 'zod';
import { recordingReportSchema } from '../recordings/metadata.js';
import { UUID_PATTERN } from '../kernel/uuid.js';

const roomName = z.string().min(1).max(200);
const participantIdentity = z.string().min(1).max(200);

/** One line of a call's transcript, as the host says it and the API stores it. */
export const transcriptLineSchema = z
  .object({
    at: z.string().datetime(),
    speaker: z.enum(['caller', 'agent']),
    text: z.string().max(20000),
  })
  .strict();
export type TranscriptLine = z.infer<typeof transcriptLineSchema>;

export const transcriptSchema = z.array(transcriptLineSchema).max(5000);

/** GET /internal/agent/calls/:id/transcript: the call so far, for an agent taking it over. */
export const callTranscriptAnswerSchema = z.object({
  id: z.string(),
  transcript: z.array(transcriptLineSchema),
});

/** One turn's latency as the caller hears it. */
export const turnLatencySchema = z
  .object({
    at: z.string().datetime(),
    /** End of the caller's speech to the agent's first audio. */
    total_ms: z.number().min(0),
    endpointing_ms: z.number().min(0).nullable(),
    stt_ms: z.number().min(0).nullable(),
    llm_ms: z.number().min(0).nullable(),
    tts_ms: z.number().min(0).nullable(),
  })
  .strict();
export type TurnLatency = z.infer<typeof turnLatencySchema>;

/** POST /internal/agent/calls/report: what the host says of a call while it runs and when it ends. */
export const callReportSchema = z
  .object({
    room_name: roomName,
    participant_identity: participantIdentity,
    agent_profile_id: z.string().regex(UUID_PATTERN).nullable().optional(),
    answered_at: z.string().datetime().optional(),
    transcript: transcriptSchema.optional(),
    latency: z.array(turnLatencySchema).max(5000).optional(),
    /** Set when the agent ended the call (hangup, transfer, max duration, silence, failure). */
    ended: z
      .object({
        at: z.string().datetime(),
        reason: z.string().regex(/^[a-z_]{1,40}$/),
      })
      .strict()
      .optional(),
    /** Where the call's recording is and how far it got (docs/agents.md). */
    recording: recordingReportSchema.optional(),
    /** Outbound calls with machine detection: who answered. */
    answered_by: z.enum(['human', 'machine', 'unknown']).optional(),
    /** The transcript so far, sent while the call goes on: stored, no call.transcript webhook. */
    partial: z.boolean().optional(),
  })
  .strict();
export type CallReport = z.infer<typeof callReportSchema>;

/**
 * POST /internal/agent/calls/transfer: the host asks for a cold transfer; the API checks the
 * target and its destination policy as for its own transfers.
 */
export const agentTransferSchema = z
  .object({
    room_name: roomName,
    participant_identity: participantIdentity,
    to: z.string().min(1).max(300),
    /** warm: the agent asks a human first (docs/call-control.md, "Warm transfer"). */
    mode: z.enum(['cold', 'warm']).optional(),
    /** warm: what the human is told; without it the API makes one from the transcript. */
    summary: z.string().min(1).max(2_000).optional(),
  })
  .strict();
export type AgentTransfer = z.infer<typeof agentTransferSchema>;
