import type { Room } from '@livekit/rtc-node';

/** LiveKit's DTMF codes (RFC 4733 events): 0-9, then *, #, A-D. */
const CODES = '0123456789*#ABCD';
/** Between keys: LiveKit SIP plays each event (about 100 ms) before it takes the next. */
const KEY_GAP_MS = 250;

/**
 * Sends keys to the far end of the call: LiveKit SIP turns each into RFC 2833/4733 events on
 * the SIP side (or tones, when the far end negotiated no events).
 */
export async function sendDigits(room: Room, digits: string): Promise<void> {
  const local = room.localParticipant;
  if (!local) throw new Error('the agent is not in the room');
  for (const digit of digits) {
    const code = CODES.indexOf(digit);
    if (code < 0) throw new Error(`not a DTMF key: ${JSON.stringify(digit)}`);
    await local.publishDtmf(code, digit);
    await new Promise((resolve) => setTimeout(resolve, KEY_GAP_MS));
  }
}
