import {
  AudioSource,
  LocalAudioTrack,
  Room,
  TrackPublishOptions,
  TrackSource,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';

import { ANSWERING_IDENTITY_PREFIX } from './identity.js';

export interface LivekitAccess {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/**
 * Joins `roomName` with a silent audio track and returns how to leave. LiveKit SIP (v1.8.0)
 * keeps an inbound call ringing until someone in its room publishes a track it subscribes to,
 * and a REFER needs an answered call: when no agent joins, this participant is that someone.
 */
export async function joinToAnswer(
  access: LivekitAccess,
  roomName: string,
): Promise<() => Promise<void>> {
  const identity = `${ANSWERING_IDENTITY_PREFIX}${roomName}`.slice(0, 128);
  const token = new AccessToken(access.apiKey, access.apiSecret, { identity, ttl: '5m' });
  token.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: false });
  const room = new Room();
  await room.connect(access.url.replace(/^http(s?):/, 'ws$1:'), await token.toJwt(), {
    autoSubscribe: false,
    dynacast: false,
  });
  try {
    const track = LocalAudioTrack.createAudioTrack('forwarding', new AudioSource(8000, 1));
    await room.localParticipant!.publishTrack(
      track,
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );
  } catch (error) {
    await room.disconnect();
    throw error;
  }
  return () => room.disconnect();
}
