import { ParticipantKind, RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { GatewayApi } from './gateway-api.js';

export interface LivekitCredentials {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export const isSipParticipant = (p: RemoteParticipant) => p.kind === ParticipantKind.SIP;

/**
 * Resolves when LiveKit SIP reports the call answered (sip.callStatus "active"). Web callers
 * have no such status and count as answered at once. Resolves false after `timeoutMs`.
 */
export function waitUntilAnswered(
  room: Room,
  caller: RemoteParticipant,
  timeoutMs: number,
): Promise<boolean> {
  const active = () =>
    !isSipParticipant(caller) || caller.attributes['sip.callStatus'] === 'active';
  if (active()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (answered: boolean) => {
      clearTimeout(timer);
      room.off(RoomEvent.ParticipantAttributesChanged, onChange);
      room.off(RoomEvent.ParticipantDisconnected, onLeft);
      resolve(answered);
    };
    const onChange = () => {
      if (active()) done(true);
    };
    const onLeft = (p: RemoteParticipant) => {
      if (p.identity === caller.identity) done(false);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    room.on(RoomEvent.ParticipantAttributesChanged, onChange);
    room.on(RoomEvent.ParticipantDisconnected, onLeft);
  });
}

/** Hangs up calls through LiveKit's server API; transfers them through the gateway's API. */
export class CallControl {
  private readonly rooms: RoomServiceClient;

  constructor(
    credentials: LivekitCredentials,
    private readonly api: Pick<GatewayApi, 'transfer'>,
  ) {
    const url = credentials.url.replace(/^ws/, 'http');
    this.rooms = new RoomServiceClient(url, credentials.apiKey, credentials.apiSecret);
  }

  /** Ends the call for everyone: LiveKit SIP sends BYE when the room goes away. */
  async hangup(roomName: string): Promise<void> {
    await this.rooms.deleteRoom(roomName);
  }

  /**
   * Cold transfer (LiveKit SIP sends a REFER to the caller's side), asked of the API: its
   * destination policy decides, as for the API's own transfers (toll fraud, docs/security.md).
   */
  async transfer(roomName: string, identity: string, to: string): Promise<void> {
    await this.api.transfer({ room_name: roomName, participant_identity: identity, to });
  }
}
