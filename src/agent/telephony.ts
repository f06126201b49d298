import { ParticipantKind, RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import { RoomServiceClient, SipClient } from 'livekit-server-sdk';

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

/** Hangs up and transfers calls through LiveKit's server API. */
export class CallControl {
  private readonly rooms: RoomServiceClient;
  private readonly sip: SipClient;

  constructor(credentials: LivekitCredentials) {
    const url = credentials.url.replace(/^ws/, 'http');
    this.rooms = new RoomServiceClient(url, credentials.apiKey, credentials.apiSecret);
    this.sip = new SipClient(url, credentials.apiKey, credentials.apiSecret);
  }

  /** Ends the call for everyone: LiveKit SIP sends BYE when the room goes away. */
  async hangup(roomName: string): Promise<void> {
    await this.rooms.deleteRoom(roomName);
  }

  /** Cold transfer: LiveKit SIP sends a REFER to the caller's side. */
  async transfer(roomName: string, identity: string, to: string): Promise<void> {
    const target = to.startsWith('+') ? `tel:${to}` : to;
    await this.sip.transferSipParticipant(roomName, identity, target, { playDialtone: false });
  }
}
