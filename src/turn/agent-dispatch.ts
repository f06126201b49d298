import type { AgentDispatchClient } from 'livekit-server-sdk';
import type { Db } from '../db/index.js';
import { GatewayError } from '../errors/index.js';
import { livekitCall } from '../livekit/index.js';
import { findAgentProfile } from '../profiles/index.js';

/** The profile a join names, checked before anything is dispatched: 400 naming the field. */
export async function webAgentProfile(
  db: Db,
  ref: string,
  field = 'agent_profile',
): Promise<{ id: string; name: string }> {
  const profile = await findAgentProfile(db, ref);
  if (!profile) {
    throw new GatewayError(
      'validation_failed',
      `${field}: no agent profile ${JSON.stringify(ref)} (give an id or a name from GET /api/agents)`,
      { fields: [{ field, message: `no agent profile ${JSON.stringify(ref)}` }] },
    );
  }
  return profile;
}

/**
 * Sends the call hosts' agent into a web room with the profile in its job metadata (what a
 * dispatch rule sends for a phone call), once per room: a second join (a page reloaded, a
 * second user) finds the dispatch already there and does not send a second agent.
 */
export async function dispatchWebAgent(
  dispatch: AgentDispatchClient,
  agentName: string,
  room: string,
  profileId: string,
): Promise<{ dispatch_id: string; created: boolean }> {
  const existing = await livekitCall(() => dispatch.listDispatch(room)).catch(() => []);
  const same = existing.find((d) => d.agentName === agentName);
  if (same) return { dispatch_id: same.id, created: false };
  const metadata = JSON.stringify({ agent_profile_id: profileId, direction: 'inbound' });
  const created = await livekitCall(() => dispatch.createDispatch(room, agentName, { metadata }));
  return { dispatch_id: created.id, created: true };
}
