import type { ExpressionBuilder } from 'kysely';
import type { z } from 'zod';
import type { DB } from '../db/index.js';
import { contactPrefix, explainRegisterResponse } from '../edge/index.js';
import { livekitCall, LivekitError } from '../livekit/index.js';
import type { TrunksDeps } from './deps.js';
import { outboundAddress } from './livekit-objects.js';
import { getProviderPreset, type ProviderId } from './provider-presets.js';
import type { trunkListQuerySchema } from './schemas.js';
import { serializeTrunk } from './serialize.js';
import { getTrunk, selectTrunks, type TrunkWithNumbers } from './store.js';

export async function listTrunks(deps: TrunksDeps, query: z.infer<typeof trunkListQuerySchema>) {
  const matching = (eb: ExpressionBuilder<DB, 'trunks'>) =>
    eb.and([
      ...(query.provider ? [eb('trunks.provider', '=', query.provider)] : []),
      ...(query.status ? [eb('trunks.status', '=', query.status)] : []),
      ...(query.sync_state ? [eb('trunks.syncState', '=', query.sync_state)] : []),
    ]);
  const [{ total }, rows] = await Promise.all([
    deps.db
      .selectFrom('trunks')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where(matching)
      .executeTakeFirstOrThrow(),
    selectTrunks(deps.db)
      .where(matching)
      .orderBy('trunks.createdAt')
      .orderBy('trunks.id')
      .offset((query.page - 1) * query.per_page)
      .limit(query.per_page)
      .execute(),
  ]);
  return {
    items: rows.map(serializeTrunk),
    page: query.page,
    per_page: query.per_page,
    total,
    total_pages: Math.ceil(total / query.per_page),
  };
}

/** Our record next to what LiveKit holds right now for the trunk. */
export async function trunkStatus(deps: TrunksDeps, idOrSlug: string) {
  const trunk = await getTrunk(deps.db, idOrSlug);
  const { rules } = await deps.db
    .selectFrom('dispatchRuleTrunks')
    .select((eb) => eb.fn.countAll<number>().as('rules'))
    .where('trunkId', '=', trunk.id)
    .executeTakeFirstOrThrow();
  let livekit: Record<string, unknown>;
  try {
    const [inbound, outbound] = await Promise.all([
      trunk.livekitInboundId
        ? livekitCall(() => deps.sip.listSipInboundTrunk({ trunkIds: [trunk.livekitInboundId!] }))
        : Promise.resolve([]),
      trunk.livekitOutboundId
        ? livekitCall(() => deps.sip.listSipOutboundTrunk({ trunkIds: [trunk.livekitOutboundId!] }))
        : Promise.resolve([]),
    ]);
    livekit = {
      reachable: true,
      inbound: trunk.livekitInboundId
        ? {
            id: trunk.livekitInboundId,
            present: inbound.length > 0,
            numbers: inbound[0]?.numbers ?? [],
          }
        : null,
      outbound: trunk.livekitOutboundId
        ? {
            id: trunk.livekitOutboundId,
            present: outbound.length > 0,
            address: outbound[0]?.address ?? null,
          }
        : null,
    };
  } catch (error) {
    livekit = {
      reachable: false,
      error: error instanceof LivekitError ? error.message : String(error),
    };
  }
  return {
    trunk_id: trunk.trunkId,
    id: trunk.id,
    status: trunk.status,
    sync: serializeTrunk(trunk).sync,
    numbers: trunk.numbers.length,
    dispatch_rules: rules,
    livekit,
    registration: await registrationStatus(deps, trunk),
  };
}

/**
 * What a provider portal or SIP client needs to talk to this trunk. Never the password: the
 * admin who set it has it.
 */
export async function trunkCredentials(deps: TrunksDeps, idOrSlug: string) {
  const trunk = await getTrunk(deps.db, idOrSlug);
  const preset = getProviderPreset(trunk.provider as ProviderId);
  const { host, port } = deps.sipPublic;
  return {
    trunk_id: trunk.trunkId,
    provider: trunk.provider,
    inbound: trunk.supportsInbound
      ? {
          sip_uri: `sip:${host}:${port}`,
          uri_per_number: trunk.numbers.map((n) => `sip:${n}@${host}:${port}`),
          transport: 'udp or tcp',
          allowed_source_addresses: trunk.allowedAddresses,
          digest_username: trunk.inboundUsername,
          digest_password_set: Boolean(trunk.inboundPasswordEnc),
          number_format_expected: trunk.numberFormat,
        }
      : null,
    outbound: trunk.supportsOutbound
      ? {
          proxy: outboundAddress(trunk),
          transport: trunk.transport,
          username: trunk.username,
          password_set: Boolean(trunk.passwordEnc),
          realm: trunk.realm,
          from_host: trunk.fromHost,
        }
      : null,
    codecs: trunk.preferredCodecs,
    registration_required_by_provider: preset.inbound.requiresRegistration,
    // The SIP edge registers this contact user at EDGE_CONTACT_ADDRESS (docs/edge.md).
    registration: trunk.register
      ? {
          registrar: trunk.registrar ?? outboundAddress(trunk),
          username: trunk.username,
          realm: trunk.realm,
          expiry: trunk.registerExpiry,
          contact_user: `${contactPrefix}${trunk.trunkId}`,
        }
      : null,
    notes: preset.notes,
  };
}

export async function trunkSummary(deps: TrunksDeps) {
  const [row, byProvider, bySync, numbers] = await Promise.all([
    deps.db
      .selectFrom('trunks')
      .select((eb) => [
        eb.fn.countAll<number>().as('total'),
        eb.fn.countAll<number>().filterWhere('status', '=', 'active').as('active'),
        eb.fn.countAll<number>().filterWhere('supportsInbound', '=', true).as('inbound'),
        eb.fn.countAll<number>().filterWhere('supportsOutbound', '=', true).as('outbound'),
      ])
      .executeTakeFirstOrThrow(),
    deps.db
      .selectFrom('trunks')
      .select(['provider', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('provider')
      .execute(),
    deps.db
      .selectFrom('trunks')
      .select(['syncState', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('syncState')
      .execute(),
    deps.db
      .selectFrom('phoneNumbers')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow(),
  ]);
  return {
    total: row.total,
    active: row.active,
    inactive: row.total - row.active,
    inbound: row.inbound,
    outbound: row.outbound,
    numbers: numbers.count,
    by_provider: Object.fromEntries(byProvider.map((r) => [r.provider, r.count])),
    by_sync_state: Object.fromEntries(bySync.map((r) => [r.syncState, r.count])),
  };
}

const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

/** The registration the SIP edge keeps for the trunk (written by the instance registering it). */
async function registrationStatus(deps: TrunksDeps, trunk: TrunkWithNumbers) {
  if (!trunk.register) return { state: 'not_configured' };
  if (trunk.status !== 'active') return { state: 'disabled', reason: 'the trunk is inactive' };
  const row = await deps.db
    .selectFrom('trunkRegistrations')
    .selectAll()
    .where('trunkId', '=', trunk.id)
    .executeTakeFirst();
  if (!row) {
    return {
      state: 'pending',
      reason: 'no SIP edge has picked this trunk up yet (is EDGE_ENABLED set on a gateway?)',
    };
  }
  const failing = row.state === 'failing';
  return {
    state: row.state,
    last_code: row.lastCode,
    last_reason: row.lastReason,
    ...(failing ? explainRegisterResponse(row.lastCode, row.lastReason) : {}),
    last_response_at: isoOrNull(row.lastResponseAt),
    registered_at: isoOrNull(row.registeredAt),
    expires_at: isoOrNull(row.expiresAt),
    failures: row.failures,
    next_attempt_at: isoOrNull(row.nextAttemptAt),
    instance: row.instance,
    updated_at: isoOrNull(row.updatedAt),
  };
}
