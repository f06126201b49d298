import type { DispatchRule, PhoneNumber } from '../db/index.js';
import type { RuleWithTrunks, TrunkWithNumbers } from './store.js';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The API's view of a trunk. Passwords are never included, only whether one is set. */
export function serializeTrunk(trunk: TrunkWithNumbers) {
  return {
    id: trunk.id,
    trunk_id: trunk.trunkId,
    name: trunk.name,
    provider: trunk.provider,
    status: trunk.status,
    supports_inbound: trunk.supportsInbound,
    supports_outbound: trunk.supportsOutbound,
    numbers: trunk.numbers,
    allowed_addresses: trunk.allowedAddresses,
    inbound_username: trunk.inboundUsername,
    has_inbound_password: Boolean(trunk.inboundPasswordEnc),
    proxy_address: trunk.proxyAddress,
    proxy_port: trunk.proxyPort,
    transport: trunk.transport,
    username: trunk.username,
    has_password: Boolean(trunk.passwordEnc),
    realm: trunk.realm,
    from_host: trunk.fromHost,
    preferred_codecs: trunk.preferredCodecs,
    media_encryption: trunk.mediaEncryption,
    max_concurrent_calls: trunk.maxConcurrentCalls,
    calls_per_second_limit: trunk.callsPerSecondLimit,
    sms_split: trunk.smsSplit,
    sms_max_segments: trunk.smsMaxSegments,
    number_format: trunk.numberFormat,
    register: trunk.register,
    registrar: trunk.registrar,
    register_expiry: trunk.registerExpiry,
    register_algorithm: trunk.registerAlgorithm,
    /** null: the global default (DESTINATIONS_*). */
    destination_policy: trunk.destinationPolicy ?? null,
    sync: {
      state: trunk.syncState,
      error: trunk.syncError,
      last_synced_at: iso(trunk.lastSyncedAt),
      last_drift: trunk.lastDrift,
      last_drift_at: iso(trunk.lastDriftAt),
      livekit_inbound_trunk_id: trunk.livekitInboundId,
      livekit_outbound_trunk_id: trunk.livekitOutboundId,
    },
    created_at: iso(trunk.createdAt),
    updated_at: iso(trunk.updatedAt),
  };
}

export function serializeNumber(number: PhoneNumber & { trunkSlug: string }) {
  return {
    id: number.id,
    number: number.number,
    trunk_id: number.trunkSlug,
    trunk_uuid: number.trunkId,
    agent_profile_id: number.agentProfileId,
    label: number.label,
    max_concurrent_calls: number.maxConcurrentCalls,
    queue_priority: number.queuePriority,
    forwarding: number.forwarding ?? null,
    created_at: iso(number.createdAt),
    updated_at: iso(number.updatedAt),
  };
}

export function serializeRule(rule: DispatchRule | RuleWithTrunks) {
  return {
    id: rule.id,
    name: rule.name,
    type: rule.type,
    room_prefix: rule.roomPrefix,
    room_name: rule.roomName,
    has_pin: Boolean(rule.pin),
    randomize: rule.randomize,
    agent_name: rule.agentName,
    agent_profile_id: rule.agentProfileId,
    forwarding: rule.forwarding ?? null,
    trunk_ids: 'trunks' in rule ? rule.trunks.map((t) => t.trunkId).sort() : undefined,
    inbound_numbers: rule.inboundNumbers,
    numbers: rule.numbers,
    hide_phone_number: rule.hidePhoneNumber,
    enabled: rule.enabled,
    sync: {
      state: rule.syncState,
      error: rule.syncError,
      last_synced_at: iso(rule.lastSyncedAt),
      last_drift: rule.lastDrift,
      last_drift_at: iso(rule.lastDriftAt),
      livekit_dispatch_rule_id: rule.livekitId,
    },
    created_at: iso(rule.createdAt),
    updated_at: iso(rule.updatedAt),
  };
}
