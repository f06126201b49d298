import { DataPacket_Kind } from '@livekit/protocol';
import type { RoomServiceClient } from 'livekit-server-sdk';
import { toLivekitError } from '../livekit/index.js';

/** No participant has this identity: the probe reaches nobody in a live room. */
const PROBE_IDENTITY = 'voice-gateway-room-probe';
const PROBE_TOPIC = 'voice-gateway.room-probe';
const PROBE_DATA = new Uint8Array([0]);

/**
 * True when the livekit-server node that hosts `room` is gone. LiveKit keeps a dead node's
 * rooms and their participants in its store (ListRooms and ListParticipants still show them),
 * but a request it routes to the room's node gets "no response from servers": data addressed
 * to an identity nobody has, which a live node takes and delivers to no one.
 */
export async function roomNodeLost(rooms: RoomServiceClient, room: string): Promise<boolean> {
  try {
    await rooms.sendData(room, PROBE_DATA, DataPacket_Kind.RELIABLE, {
      destinationIdentities: [PROBE_IDENTITY],
      topic: PROBE_TOPIC,
    });
    return false;
  } catch (error) {
    const failure = toLivekitError(error);
    return failure.status === 503 && /no response from servers/i.test(failure.message);
  }
}
