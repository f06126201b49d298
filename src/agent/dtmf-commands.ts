import type { Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';
import { ACK_ATTRIBUTE } from '../livekit/control-protocol.js';
import { onControlCommand } from './control-commands.js';
import { sendDigits } from './send-dtmf.js';

/**
 * The API's "press these keys" (POST /api/calls/:id/dtmf), from the moment the agent is in the
 * room: unlike hold it needs nothing of the call's talker. Acknowledged like every control
 * command, through the agent's attributes.
 */
export function attachDtmfCommands(room: Room, log: Logger): void {
  onControlCommand(room, log, ['dtmf'], async (message) => {
    try {
      await sendDigits(room, message.digits);
      await room.localParticipant!.setAttributes({ [ACK_ATTRIBUTE]: message.request_id });
      log.info({ keys: message.digits.length }, 'keys sent to the far end');
    } catch (error) {
      log.error({ err: error }, 'keys could not be sent');
    }
  });
}
