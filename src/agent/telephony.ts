import { ParticipantKind, RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { GatewayApi } from './gateway-api.js';

export interface LivekitCredentials {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export const isSipParticipant = (p: RemoteParticipant) => p.kind === ParticipantKind.SIP;

/** Rooms in which someone subscribed to a track of the agent's (see watchVoiceSubscription). */
const voiceSubscribed = new WeakSet<Room>();

/**
 * Notes when a track of the agent's is first subscribed in `room`. Call it before connecting.
 * LiveKit SIP answers an inbound call (200 OK) right after it subscribes to the agent's voice,
 * and sends the room's audio from then on, but reports `sip.callStatus` "active" only after the
 * caller's first RTP packet: waiting for the status would hold the greeting back by that much.
 */
export function watchVoiceSubscription(room: Room): void {
  room.once(RoomEvent.LocalTrackSubscribed, () => voiceSubscribed.add(room));
}

/** An inbound SIP caller: only they come through a dispatch rule. */
const isInboundSip = (p: RemoteParticipant) =>
  isSipParticipant(p) && Boolean(p.attributes['sip.ruleID']);

/**
 * Resolves when the call is answered: for an inbound SIP call, once LiveKit SIP subscribed to
 * the agent's voice (it answers then, see watchVoiceSubscription); for an outbound one, when
 * LiveKit SIP reports it (sip.callStatus "active"). Web callers have no such status and count
 * as answered at once. Resolves false after `timeoutMs` or when the caller leaves first.
 */
export function waitUntilAnswered(
  room: Room,
  caller: RemoteParticipant,
  timeoutMs: number,
): Promise<boolean> {
  const active = () =>
    !isSipParticipant(caller) ||
    caller.attributes['sip.callStatus'] === 'active' ||
    (isInboundSip(caller) && voiceSubscribed.has(room));
  if (active()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (answered: boolean) => {
      clearTimeout(timer);
      room.off(RoomEvent.ParticipantAttributesChanged, onChange);
      room.off(RoomEvent.LocalTrackSubscribed, onSubscribed);
      room.off(RoomEvent.ParticipantDisconnected, onLeft);
      resolve(answered);
    };
    const onChange = () => {
      if (active()) done(true);
    };
    // The watcher's own listener may run after this one: the subscription itself counts.
    const onSubscribed = () => {
      if (isInboundSip(caller)) done(true);
    };
    const onLeft = (p: RemoteParticipant) => {
      if (p.identity === caller.identity) done(false);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    room.on(RoomEvent.ParticipantAttributesChanged, onChange);
    room.on(RoomEvent.LocalTrackSubscribed, onSubscribed);
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
  async transfer(
    roomName: string,
    identity: string,
    to: string,
    mode: 'cold' | 'warm' = 'cold',
    summary?: string,
  ): Promise<void> {
    await this.api.transfer({
      room_name: roomName,
      participant_identity: identity,
      to,
      ...(mode === 'warm' && { mode }),
      ...(mode === 'warm' && summary !== undefined && { summary }),
    });
  }
}
