import { urlHost } from '../kernel/url-host.js';
import {
  RoomAgentDispatch,
  RoomConfiguration,
  SIPDispatchRule,
  SIPDispatchRuleCallee,
  SIPDispatchRuleDirect,
  SIPDispatchRuleIndividual,
  SIPDispatchRuleInfo,
  SIPInboundTrunkInfo,
  SIPMediaEncryption,
  SIPOutboundTrunkInfo,
  SIPTransport,
} from '@livekit/protocol';
import type { DispatchRule, SecretBox, Trunk } from '../db/index.js';
import { toWireFormat } from './phone.js';
import type { NumberFormat } from './provider-presets.js';
import type { RuleWithTrunks, TrunkWithNumbers } from './store.js';

export type ObjectKind = 'inbound' | 'outbound' | 'rule';

/**
 * Written into each LiveKit object's metadata: it says which installation made the object and
 * which of its rows the object is. Objects made before installations were marked carry no
 * `installation` (legacy).
 */
export interface Marker {
  managed_by: 'voice-gateway';
  installation?: string;
  kind: ObjectKind;
  id: string;
}

export function marker(installation: string, kind: ObjectKind, id: string): string {
  return JSON.stringify({ managed_by: 'voice-gateway', installation, kind, id } satisfies Marker);
}

export function readMarker(metadata: string | undefined): Marker | undefined {
  if (!metadata?.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(metadata) as Partial<Marker>;
    if (parsed.managed_by === 'voice-gateway' && parsed.kind && parsed.id) return parsed as Marker;
  } catch {
    // someone else's metadata
  }
  return undefined;
}

/**
 * Whose object this is: ours (our installation's marker), legacy (our marker without an
 * installation: made before markers named one, by us or by another gateway on this LiveKit),
 * foreign (another installation's marker), or unmarked (made by hand or by another tool).
 */
export type Ownership = 'ours' | 'legacy' | 'foreign' | 'unmarked';

export function ownershipOf(metadata: string | undefined, installation: string): Ownership {
  const m = readMarker(metadata);
  if (!m) return 'unmarked';
  if (m.installation === undefined) return 'legacy';
  return m.installation === installation ? 'ours' : 'foreign';
}

/**
 * The participant attribute naming the installation a call belongs to. LiveKit copies a dispatch
 * rule's `attributes` onto the SIP participant it creates, CreateSIPParticipant's
 * `participant_attributes` onto the dialled one, and a join token's attributes onto a web user:
 * the gateway sets it in all three, and records only calls naming its own installation.
 */
export const INSTALLATION_ATTRIBUTE = 'voice_gateway.installation';

export function installationAttributes(installation: string): Record<string, string> {
  return { [INSTALLATION_ATTRIBUTE]: installation };
}

const transports: Record<string, SIPTransport> = {
  udp: SIPTransport.SIP_TRANSPORT_UDP,
  tcp: SIPTransport.SIP_TRANSPORT_TCP,
  tls: SIPTransport.SIP_TRANSPORT_TLS,
};

const encryptions: Record<string, SIPMediaEncryption> = {
  disable: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE,
  allow: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_ALLOW,
  require: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE,
};

const encryptionOf = (trunk: Trunk) =>
  encryptions[trunk.mediaEncryption] ?? SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE;

function livekitName(trunk: Trunk): string {
  return `${trunk.name} [${trunk.trunkId}]`;
}

function wireNumbers(trunk: TrunkWithNumbers): string[] {
  return trunk.numbers.map((n) => toWireFormat(n, trunk.numberFormat as NumberFormat)).sort();
}

/** The inbound trunk LiveKit should hold for this row, or null when it should hold none. */
export function desiredInbound(
  installation: string,
  trunk: TrunkWithNumbers,
  box: SecretBox,
  edgeSourceAddress?: string,
): SIPInboundTrunkInfo | null {
  if (trunk.status !== 'active' || !trunk.supportsInbound) return null;
  // A registering trunk's calls arrive through the SIP edge: LiveKit sees the edge's address.
  const edge =
    trunk.register && edgeSourceAddress && !trunk.allowedAddresses.includes(edgeSourceAddress)
      ? [edgeSourceAddress]
      : [];
  return new SIPInboundTrunkInfo({
    name: livekitName(trunk),
    metadata: marker(installation, 'inbound', trunk.id),
    numbers: wireNumbers(trunk),
    allowedAddresses: [...trunk.allowedAddresses, ...edge].sort(),
    authUsername: trunk.inboundUsername ?? '',
    authPassword: trunk.inboundPasswordEnc ? box.decrypt(trunk.inboundPasswordEnc) : '',
    mediaEncryption: encryptionOf(trunk),
  });
}

export function outboundAddress(trunk: Pick<Trunk, 'proxyAddress' | 'proxyPort'>): string {
  const host = trunk.proxyAddress && urlHost(trunk.proxyAddress);
  return trunk.proxyPort ? `${host}:${trunk.proxyPort}` : (host ?? '');
}

export function desiredOutbound(
  installation: string,
  trunk: TrunkWithNumbers,
  box: SecretBox,
): SIPOutboundTrunkInfo | null {
  if (trunk.status !== 'active' || !trunk.supportsOutbound || !trunk.proxyAddress) return null;
  return new SIPOutboundTrunkInfo({
    name: livekitName(trunk),
    metadata: marker(installation, 'outbound', trunk.id),
    address: outboundAddress(trunk),
    transport: transports[trunk.transport] ?? SIPTransport.SIP_TRANSPORT_AUTO,
    numbers: wireNumbers(trunk),
    authUsername: trunk.username ?? '',
    authPassword: trunk.passwordEnc ? box.decrypt(trunk.passwordEnc) : '',
    fromHost: trunk.fromHost ?? '',
    mediaEncryption: encryptionOf(trunk),
  });
}

/** Each number in every wire format the rule's trunks use, so it matches whatever they send. */
function ruleNumbers(numbers: string[], trunks: Trunk[]): string[] {
  const formats = new Set(trunks.map((t) => t.numberFormat as NumberFormat));
  const out = new Set<string>();
  for (const n of numbers) for (const f of formats) out.add(toWireFormat(n, f));
  return [...out].sort();
}

function ruleBody(rule: DispatchRule): SIPDispatchRule {
  const pin = rule.pin ?? '';
  if (rule.type === 'direct') {
    return new SIPDispatchRule({
      rule: {
        case: 'dispatchRuleDirect',
        value: new SIPDispatchRuleDirect({ roomName: rule.roomName ?? '', pin }),
      },
    });
  }
  if (rule.type === 'callee') {
    return new SIPDispatchRule({
      rule: {
        case: 'dispatchRuleCallee',
        value: new SIPDispatchRuleCallee({
          roomPrefix: rule.roomPrefix,
          pin,
          randomize: rule.randomize,
        }),
      },
    });
  }
  return new SIPDispatchRule({
    rule: {
      case: 'dispatchRuleIndividual',
      value: new SIPDispatchRuleIndividual({ roomPrefix: rule.roomPrefix, pin }),
    },
  });
}

/** Metadata the dispatched agent receives: which rule and profile answered the call. */
export function agentDispatchMetadata(rule: Pick<DispatchRule, 'id' | 'agentProfileId'>): string {
  return JSON.stringify({ dispatch_rule_id: rule.id, agent_profile_id: rule.agentProfileId });
}

/**
 * The dispatch rule LiveKit should hold, scoped to the LiveKit ids of the rule's inbound trunks.
 * Null when disabled, or when none of its trunks is in LiveKit: a rule with no trunk ids would
 * accept calls from every trunk.
 */
export function desiredRule(
  installation: string,
  rule: RuleWithTrunks,
): SIPDispatchRuleInfo | null {
  const trunks = rule.trunks.filter(
    (t) => t.livekitInboundId && t.status === 'active' && t.supportsInbound,
  );
  if (!rule.enabled || trunks.length === 0) return null;
  return new SIPDispatchRuleInfo({
    name: rule.name,
    metadata: marker(installation, 'rule', rule.id),
    attributes: installationAttributes(installation),
    trunkIds: trunks.map((t) => t.livekitInboundId!).sort(),
    rule: ruleBody(rule),
    inboundNumbers: ruleNumbers(rule.inboundNumbers, trunks),
    numbers: ruleNumbers(rule.numbers, trunks),
    hidePhoneNumber: rule.hidePhoneNumber,
    roomConfig: rule.agentName
      ? new RoomConfiguration({
          agents: [
            new RoomAgentDispatch({
              agentName: rule.agentName,
              metadata: agentDispatchMetadata(rule),
            }),
          ],
        })
      : undefined,
  });
}

const sorted = (values: string[]) => [...values].sort().join(',');

/** Field names that differ between what LiveKit holds and what it should hold. */
export function inboundDiff(actual: SIPInboundTrunkInfo, desired: SIPInboundTrunkInfo): string[] {
  const diff: string[] = [];
  if (actual.name !== desired.name) diff.push('name');
  if (sorted(actual.numbers) !== sorted(desired.numbers)) diff.push('numbers');
  if (sorted(actual.allowedAddresses) !== sorted(desired.allowedAddresses))
    diff.push('allowed_addresses');
  if (actual.authUsername !== desired.authUsername) diff.push('auth_username');
  // LiveKit may not return passwords; compare only when it does.
  if (actual.authPassword && actual.authPassword !== desired.authPassword)
    diff.push('auth_password');
  if (actual.mediaEncryption !== desired.mediaEncryption) diff.push('media_encryption');
  if (actual.metadata !== desired.metadata) diff.push('metadata');
  return diff;
}

export function outboundDiff(
  actual: SIPOutboundTrunkInfo,
  desired: SIPOutboundTrunkInfo,
): string[] {
  const diff: string[] = [];
  if (actual.name !== desired.name) diff.push('name');
  if (actual.address !== desired.address) diff.push('address');
  if (actual.transport !== desired.transport) diff.push('transport');
  if (sorted(actual.numbers) !== sorted(desired.numbers)) diff.push('numbers');
  if (actual.authUsername !== desired.authUsername) diff.push('auth_username');
  if (actual.authPassword && actual.authPassword !== desired.authPassword)
    diff.push('auth_password');
  if (actual.fromHost !== desired.fromHost) diff.push('from_host');
  if (actual.mediaEncryption !== desired.mediaEncryption) diff.push('media_encryption');
  if (actual.metadata !== desired.metadata) diff.push('metadata');
  return diff;
}

export function ruleDiff(actual: SIPDispatchRuleInfo, desired: SIPDispatchRuleInfo): string[] {
  const diff: string[] = [];
  if (actual.name !== desired.name) diff.push('name');
  if (sorted(actual.trunkIds) !== sorted(desired.trunkIds)) diff.push('trunk_ids');
  if (!ruleBody0Equal(actual.rule, desired.rule)) diff.push('rule');
  if (sorted(actual.inboundNumbers) !== sorted(desired.inboundNumbers))
    diff.push('inbound_numbers');
  if (sorted(actual.numbers) !== sorted(desired.numbers)) diff.push('numbers');
  if (actual.hidePhoneNumber !== desired.hidePhoneNumber) diff.push('hide_phone_number');
  const agents = (info: SIPDispatchRuleInfo) =>
    (info.roomConfig?.agents ?? []).map((a) => `${a.agentName}|${a.metadata}`).join(',');
  if (agents(actual) !== agents(desired)) diff.push('agents');
  if (actual.metadata !== desired.metadata) diff.push('metadata');
  // A rule written before calls were marked has no attributes: it is updated to carry them.
  if (attributesOf(actual) !== attributesOf(desired)) diff.push('attributes');
  return diff;
}

const attributesOf = (info: SIPDispatchRuleInfo) =>
  JSON.stringify(Object.entries(info.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b)));

function ruleBody0Equal(a: SIPDispatchRule | undefined, b: SIPDispatchRule | undefined): boolean {
  return JSON.stringify(a?.toJson() ?? null) === JSON.stringify(b?.toJson() ?? null);
}
