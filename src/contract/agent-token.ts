import { createHmac } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

const ISSUER = 'voice-gateway';
const AUDIENCE = 'voice-gateway-agent-api';

/**
 * The agent worker and the API share LiveKit's API secret already; the key that signs the
 * worker's calls to the API is derived from it, so a LiveKit access token is never accepted here.
 */
function agentKey(livekitApiSecret: string): Uint8Array {
  return createHmac('sha256', livekitApiSecret).update('voice-gateway agent api v1').digest();
}

export async function signAgentToken(livekitApiSecret: string, ttlSeconds = 300): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('agent-worker')
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(agentKey(livekitApiSecret));
}

export async function verifyAgentToken(livekitApiSecret: string, token: string): Promise<boolean> {
  try {
    await jwtVerify(token, agentKey(livekitApiSecret), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      clockTolerance: 10,
    });
    return true;
  } catch {
    return false;
  }
}
