import type { z } from 'zod';
import type { Prisma } from '../db/index.js';
import { livekitCall, LivekitError } from '../livekit/index.js';
import type { TrunksDeps } from './deps.js';
import { outboundAddress } from './livekit-objects.js';
import { getProviderPreset, type ProviderId } from './provider-presets.js';
import type { trunkListQuerySchema } from './schemas.js';
import { serializeTrunk } from './serialize.js';
import { trunkWithNumbers } from './sync.js';
import { loadTrunk } from './trunk-service.js';

export async function listTrunks(deps: TrunksDeps, query: z.infer<typeof trunkListQuerySchema>) {
  const where: Prisma.TrunkWhereInput = {
    ...(query.provider ? { provider: query.provider } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.sync_state ? { syncState: query.sync_state } : {}),
  };
  const [total, rows] = await Promise.all([
    deps.prisma.trunk.count({ where }),
    deps.prisma.trunk.findMany({
      where,
      include: trunkWithNumbers,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      skip: (query.page - 1) * query.per_page,
      take: query.per_page,
    }),
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
  const trunk = await loadTrunk(deps.prisma, idOrSlug);
  const rules = await deps.prisma.dispatchRuleTrunk.count({ where: { trunkId: trunk.id } });
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
    numbers: trunk.phoneNumbers.length,
    dispatch_rules: rules,
    livekit,
    registration: { state: 'not_configured' },
  };
}

/**
 * What a provider portal or SIP client needs to talk to this trunk. Never the password: the
 * admin who set it has it.
 */
export async function trunkCredentials(deps: TrunksDeps, idOrSlug: string) {
  const trunk = await loadTrunk(deps.prisma, idOrSlug);
  const preset = getProviderPreset(trunk.provider as ProviderId);
  const { host, port } = deps.sipPublic;
  return {
    trunk_id: trunk.trunkId,
    provider: trunk.provider,
    inbound: trunk.supportsInbound
      ? {
          sip_uri: `sip:${host}:${port}`,
          uri_per_number: trunk.phoneNumbers.map((n) => `sip:${n.number}@${host}:${port}`),
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
    notes: preset.notes,
  };
}

export async function trunkSummary(deps: TrunksDeps) {
  const [byStatus, byProvider, bySync, inbound, outbound, numbers] = await Promise.all([
    deps.prisma.trunk.groupBy({ by: ['status'], _count: { _all: true } }),
    deps.prisma.trunk.groupBy({ by: ['provider'], _count: { _all: true } }),
    deps.prisma.trunk.groupBy({ by: ['syncState'], _count: { _all: true } }),
    deps.prisma.trunk.count({ where: { supportsInbound: true } }),
    deps.prisma.trunk.count({ where: { supportsOutbound: true } }),
    deps.prisma.phoneNumber.count(),
  ]);
  const tally = <K extends string>(
    rows: ({ _count: { _all: number } } & Record<K, string>)[],
    key: K,
  ) => Object.fromEntries(rows.map((row) => [row[key], row._count._all]));
  const statuses = tally(byStatus, 'status');
  return {
    total: Object.values(statuses).reduce((a, b) => a + b, 0),
    active: statuses.active ?? 0,
    inactive: statuses.inactive ?? 0,
    inbound,
    outbound,
    numbers,
    by_provider: tally(byProvider, 'provider'),
    by_sync_state: tally(bySync, 'syncState'),
  };
}
