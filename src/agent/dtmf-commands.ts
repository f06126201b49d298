import { RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../config/logger.js';
import { ACK_ATTRIBUTE, CONTROL_TOPIC, controlMessageSchema } from '../livekit/control-protocol.js';
import { sendDigits } from './send-dtmf.js';

/**
 * The API's "press these keys" (POST /api/calls/:id/dtmf), from the moment the agent is in the
 * room: unlike hold it needs nothing of the call's talker. Acknowledged like every control
 * command, through the agent's attributes; packets from participants are ignored.
 */
export function attachDtmfCommands(room: Room, log: Logger): void {
  let queue = Promise.resolve();
  room.on(
    RoomEvent.DataReceived,
    (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string) => {
      if (topic !== CONTROL_TOPIC || participant) return;
      let parsed;
      try {
        parsed = controlMessageSchema.safeParse(JSON.parse(Buffer.from(payload).toString('utf8')));
      } catch {
        return;
      }
      if (!parsed.success || parsed.data.action !== 'dtmf') return;
      const message = parsed.data;
      queue = queue.then(async () => {
        try {
          await sendDigits(room, message.digits);
          await room.localParticipant!.setAttributes({ [ACK_ATTRIBUTE]: message.request_id });
          log.info({ keys: message.digits.length }, 'keys sent to the far end');
        } catch (error) {
          log.error({ err: error }, 'keys could not be sent');
        }
      });
    },
  );
}
