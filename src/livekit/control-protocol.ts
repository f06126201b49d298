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
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;
