import {
  RoomAgentDispatch,
  RoomConfiguration,
  SIPDispatchRule,
  SIPDispatchRuleIndividual,
  SIPDispatchRuleInfo,
  SIPTransport,
} from '@livekit/protocol';
import type { Db } from '../db/index.js';
import type { GatewaySipClient } from '../livekit/index.js';
import { INSTALLATION_ATTRIBUTE, installationAttributes } from '../trunks/livekit-objects.js';

/**
 * LiveKit's side of calls from SIP users: per agent key (an agent profile id, or "default"),
 * one inbound trunk that lists the called number "vgusers-<key>" and admits only the edge's
 * address, and one dispatch rule scoped to it that dispatches the agent with that profile.
 * The edge sets that called number on a user's authenticated INVITE (route FROM_USER), so
 * nobody else reaches these trunks. Their metadata marker is not the trunks area's, so its
 * reconcile lists them as unmanaged and leaves them alone. The marker names the installation;
 * another installation's objects are never touched. A marker naming none (made before markers
 * named installations) counts as ours: these objects are derived, not stored, and a leftover
 * would answer the same called number as its replacement.
 */
export const SIP_USERS_MARKER = 'voice-gateway-sipusers';
export const SIP_USER_ATTRIBUTE = 'vg.sip_user';
export const SIP_USER_HEADER = 'X-VG-SIP-User';

export const agentKey = (profileId: string | null) => profileId ?? 'default';
export const calledNumber = (key: string) => `vgusers-${key}`;

function markerOf(metadata: string | undefined, installation: string): string | undefined {
  try {
    const m = JSON.parse(metadata ?? '') as {
      managed_by?: string;
      installation?: string;
      key?: string;
    };
    if (m.installation !== undefined && m.installation !== installation) return undefined;
    return m.managed_by === SIP_USERS_MARKER ? m.key : undefined;
  } catch {
    return undefined;
  }
}

export interface SipUsersLivekitDeps {
  db: Db;
  sip: GatewaySipClient;
  /** This installation's id: it marks the objects (src/trunks/deps.ts). */
  installation: string;
  /** The address LiveKit sees the edge's INVITEs from (EDGE_SOURCE_ADDRESS). */
  edgeSourceAddress: string;
  /** AGENT_NAME: the worker dispatched to SIP users' calls. */
  agentName: string;
  /** host:port LiveKit SIP reaches the edge at, for calls to SIP users (EDGE_CONTACT_ADDRESS). */
  edgeAddress: string;
}

/** The caller LiveKit presents to a SIP user's phone (From user of the edge-bound INVITE). */
export const OUTBOUND_FROM = 'agent';

/** The LiveKit outbound trunk that dials the edge for calls to SIP users; made when missing. */
export async function sipUsersOutboundTrunk(deps: SipUsersLivekitDeps): Promise<string> {
  const found = (await deps.sip.listSipOutboundTrunk()).filter(
    (t) => markerOf(t.metadata, deps.installation) === 'outbound',
  );
  for (const extra of found.slice(1)) await deps.sip.deleteSipTrunk(extra.sipTrunkId);
  const current = found[0];
  const metadata = JSON.stringify({
    managed_by: SIP_USERS_MARKER,
    installation: deps.installation,
    key: 'outbound',
  });
  if (current && current.address === deps.edgeAddress && current.metadata === metadata)
    return current.sipTrunkId;
  if (current) await deps.sip.deleteSipTrunk(current.sipTrunkId);
  const created = await deps.sip.createSipOutboundTrunk(
    'voice-gateway SIP users outbound',
    deps.edgeAddress,
    [OUTBOUND_FROM],
    {
      metadata,
      transport: SIPTransport.SIP_TRANSPORT_UDP,
    },
  );
  return created.sipTrunkId;
}

let running: Promise<void> = Promise.resolve();

/**
 * Makes LiveKit hold one trunk and rule per agent key in use (and "default"); idempotent. One
 * run at a time in this process; a duplicate another process made is removed by the next run.
 */
export function syncSipUsersLivekit(deps: SipUsersLivekitDeps): Promise<void> {
  const next = running.then(() => syncOnce(deps));
  running = next.catch(() => undefined);
  return next;
}

async function syncOnce(deps: SipUsersLivekitDeps): Promise<void> {
  const rows = await deps.db.selectFrom('sipUsers').select('agentProfileId').distinct().execute();
  // No SIP users: LiveKit holds none of these objects (a gateway without users changes nothing).
  const wanted = new Set(
    rows.length > 0 ? ['default', ...rows.map((r) => agentKey(r.agentProfileId))] : [],
  );
  if (rows.length > 0) await sipUsersOutboundTrunk(deps);
  else
    for (const t of await deps.sip.listSipOutboundTrunk())
      if (markerOf(t.metadata, deps.installation)) await deps.sip.deleteSipTrunk(t.sipTrunkId);
  const trunks = (await deps.sip.listSipInboundTrunk()).filter((t) =>
    markerOf(t.metadata, deps.installation),
  );
  const rules = (await deps.sip.listSipDispatchRule()).filter((r) =>
    markerOf(r.metadata, deps.installation),
  );
  for (const rule of rules)
    if (!wanted.has(markerOf(rule.metadata, deps.installation)!))
      await deps.sip.deleteSipDispatchRule(rule.sipDispatchRuleId);
  for (const trunk of trunks)
    if (!wanted.has(markerOf(trunk.metadata, deps.installation)!))
      await deps.sip.deleteSipTrunk(trunk.sipTrunkId);
  for (const key of wanted) {
    const metadata = JSON.stringify({
      managed_by: SIP_USERS_MARKER,
      installation: deps.installation,
      key,
    });
    let trunk = trunks.find((t) => markerOf(t.metadata, deps.installation) === key);
    // A legacy object (its marker names no installation) is replaced by one naming ours.
    if (
      trunk &&
      (!trunk.allowedAddresses.includes(deps.edgeSourceAddress) || trunk.metadata !== metadata)
    ) {
      await deps.sip.deleteSipTrunk(trunk.sipTrunkId);
      trunk = undefined;
    }
    if (!trunk)
      trunk = await deps.sip.createSipInboundTrunk(
        `voice-gateway SIP users [${key}]`,
        [calledNumber(key)],
        {
          metadata,
          allowedAddresses: [deps.edgeSourceAddress],
          headersToAttributes: { [SIP_USER_HEADER]: SIP_USER_ATTRIBUTE },
        },
      );
    const rule = rules.find((r) => markerOf(r.metadata, deps.installation) === key);
    // A rule made before calls were marked lacks the installation attribute: it is replaced.
    if (
      rule &&
      rule.trunkIds.includes(trunk.sipTrunkId) &&
      rule.metadata === metadata &&
      rule.attributes[INSTALLATION_ATTRIBUTE] === deps.installation
    )
      continue;
    if (rule) await deps.sip.deleteSipDispatchRule(rule.sipDispatchRuleId);
    await deps.sip.createDispatchRuleInfo(
      new SIPDispatchRuleInfo({
        name: `voice-gateway SIP users [${key}]`,
        metadata,
        attributes: installationAttributes(deps.installation),
        trunkIds: [trunk.sipTrunkId],
        rule: new SIPDispatchRule({
          rule: {
            case: 'dispatchRuleIndividual',
            value: new SIPDispatchRuleIndividual({ roomPrefix: 'sipuser-', pin: '' }),
          },
        }),
        roomConfig: new RoomConfiguration({
          agents: [
            new RoomAgentDispatch({
              agentName: deps.agentName,
              metadata: JSON.stringify({ agent_profile_id: key === 'default' ? null : key }),
            }),
          ],
        }),
      }),
    );
  }
}
