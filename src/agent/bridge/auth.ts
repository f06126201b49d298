import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import type { BridgeCallInfo } from './options.js';

export const JWT_ISSUER = 'voice-gateway';

export interface AuthFrame {
  type: 'auth';
  auth: { token: string; signature: string; timestamp: string; call_id: string };
  call: {
    conversation_id: string;
    from_number: string;
    to_number: string;
    direction: 'incoming' | 'outgoing';
    codec: string;
    sample_rate: number;
  };
}

/** Hex HMAC-SHA256 of `${timestamp}.${callId}`: the `auth.signature` field. */
export function signAuth(hmacSecret: string, timestamp: string, callId: string): string {
  return createHmac('sha256', hmacSecret).update(`${timestamp}.${callId}`).digest('hex');
}

/**
 * The first frame of every connection (reconnects too), made fresh each time: a new JWT
 * (HS256, iss voice-gateway, sub = call id, iat now, exp after `ttlSeconds`) and a new
 * timestamp and signature.
 */
export async function createAuthFrame(options: {
  call: BridgeCallInfo;
  jwtSecret: string;
  hmacSecret: string;
  ttlSeconds: number;
  now?: Date;
}): Promise<AuthFrame> {
  const { call } = options;
  const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(JWT_ISSUER)
    .setSubject(call.callId)
    .setIssuedAt(seconds)
    .setExpirationTime(seconds + options.ttlSeconds)
    .sign(new TextEncoder().encode(options.jwtSecret));
  const timestamp = String(seconds);
  return {
    type: 'auth',
    auth: {
      token: `Bearer ${jwt}`,
      signature: signAuth(options.hmacSecret, timestamp, call.callId),
      timestamp,
      call_id: call.callId,
    },
    call: {
      conversation_id: call.conversationId,
      from_number: call.fromNumber,
      to_number: call.toNumber,
      direction: call.direction,
      codec: call.codec,
      sample_rate: call.sampleRate,
    },
  };
}
