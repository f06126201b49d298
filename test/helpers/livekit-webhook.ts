import { createHash } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';

/** Signs a body the way livekit-server does: a JWT whose sha256 claim is the body's hash. */
export async function livekitSignature(
  body: string,
  apiKey: string,
  apiSecret: string,
  ttlSeconds = 300,
): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { ttl: ttlSeconds });
  token.sha256 = createHash('sha256').update(body).digest('base64');
  return token.toJwt();
}

let counter = 0;

/** A LiveKit webhook body (JSON, as livekit-server sends it). */
export function livekitEventBody(event: string, fields: Record<string, unknown> = {}): string {
  counter += 1;
  return JSON.stringify({
    event,
    id: `EV_test_${Date.now()}_${counter}`,
    createdAt: String(Math.floor(Date.now() / 1000)),
    ...fields,
  });
}

/**
 * A web caller joining `room`, as livekit-server reports it to the API at `apiUrl` (which opens a
 * call and publishes call.started); the API's status (200 once stored).
 */
export async function webCallerJoins(
  apiUrl: string,
  room: string,
  keys: { apiKey: string; apiSecret: string },
): Promise<number> {
  const body = livekitEventBody('participant_joined', {
    room: { name: room, sid: `RM_${room}` },
    participant: { sid: `PA_${room}`, identity: `web-${room}`, kind: 'STANDARD' },
  });
  const response = await fetch(`${apiUrl}/webhooks/livekit`, {
    method: 'POST',
    headers: {
      'content-type': 'application/webhook+json',
      authorization: await livekitSignature(body, keys.apiKey, keys.apiSecret),
    },
    body,
  });
  return response.status;
}
