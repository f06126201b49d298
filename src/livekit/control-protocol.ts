import { z } from 'zod';

/**
 * Live call control between the API and a call's agent, through LiveKit itself (no extra
 * connection): the API sends a data packet on CONTROL_TOPIC to the agent participant only
 * (RoomServiceClient.sendData); the agent obeys and acknowledges by setting its participant
 * attributes, which the API reads back (RoomServiceClient.getParticipant).
 */
export const CONTROL_TOPIC = 'voice-gateway.control';
/** "on" while the call is held, "off" otherwise. */
export const HOLD_ATTRIBUTE = 'voice_gateway.hold';
/** The request_id of the last control message the agent carried out. */
export const ACK_ATTRIBUTE = 'voice_gateway.control_ack';

/** The sid of the track the agent speaks to a warm transfer's human on (set by warm_prepare). */
export const WHISPER_TRACK_ATTRIBUTE = 'voice_gateway.whisper_track';
/** "<request_id of warm_speak>:accepted" or ":declined": the human's key after the summary. */
export const WARM_ANSWER_ATTRIBUTE = 'voice_gateway.warm_answer';
export const WARM_OUTCOMES = ['accepted', 'declined', 'no_answer', 'hung_up', 'failed'] as const;
export type WarmOutcome = (typeof WARM_OUTCOMES)[number];

/** Keys the agent can send (RFC 2833 through LiveKit SIP): a few at a time. */
export const DTMF_DIGITS = /^[0-9*#A-D]{1,32}$/;

export const controlMessageSchema = z.discriminatedUnion('action', [
  z
    .object({
      action: z.enum(['hold', 'resume']),
      request_id: z.string().min(1).max(100),
    })
    .strict(),
  /** Send keys to the far end (another company's IVR on an outbound call). */
  z
    .object({
      action: z.literal('dtmf'),
      digits: z.string().regex(DTMF_DIGITS),
      request_id: z.string().min(1).max(100),
    })
    .strict(),
  /** Warm transfer, step 1: hold the caller, publish the (silent) track for the human. */
  z.object({ action: z.literal('warm_prepare'), request_id: z.string().min(1).max(100) }).strict(),
  /** Step 2, once only the human hears that track: say the summary, wait for 1 or 2. */
  z
    .object({
      action: z.literal('warm_speak'),
      human_identity: z.string().min(1).max(200),
      summary: z.string().min(1).max(2000),
      request_id: z.string().min(1).max(100),
    })
    .strict(),
  /** Step 3: accepted (the agent goes silent) or not (the agent takes the caller back). */
  z
    .object({
      action: z.literal('warm_end'),
      outcome: z.enum(WARM_OUTCOMES),
      request_id: z.string().min(1).max(100),
    })
    .strict(),
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;
