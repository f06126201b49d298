import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { audit, type Actor } from '../audit/index.js';
import type { Db, DB } from '../db/index.js';
import { conflict, notFound } from '../errors/index.js';
import { numberPattern, prefixPattern, type Pattern } from './patterns.js';
import type { BlockCreateInput } from './schemas.js';
import { isUuid } from '../kernel/uuid.js';

export type BlockedNumber = Selectable<DB['blockedNumbers']>;

/** The API's view of an entry. The number is personal data. */
export function serializeEntry(row: BlockedNumber, defaultSipStatus: number) {
  return {
    id: row.id,
    kind: row.isPrefix ? ('prefix' as const) : ('number' as const),
    number: row.isPrefix ? null : `+${row.pattern}`,
    prefix: row.isPrefix ? row.pattern : null,
    reason: row.reason,
    /** As given; null: the configured default (BLOCKLIST_SIP_STATUS). */
    sip_status: row.sipStatus,
    /** What the edge answers with. */
    effective_sip_status: row.sipStatus ?? defaultSipStatus,
    expires_at: row.expiresAt?.toISOString() ?? null,
    hits: row.hits,
    created_at: row.createdAt.toISOString(),
  };
}

/** Entries that block now (no expiry, or one still ahead), newest first. */
export function activeEntries(db: Db, now = new Date()): Promise<BlockedNumber[]> {
  return db
    .selectFrom('blockedNumbers')
    .selectAll()
    .where((eb) => eb.or([eb('expiresAt', 'is', null), eb('expiresAt', '>', now)]))
    .orderBy('createdAt', 'desc')
    .orderBy('id')
    .execute();
}

/**
 * Stores a new entry with an audit entry. An expired entry for the same number or prefix is
 * replaced; a live one is a 409 (remove it first to change it).
 */
export async function createEntry(
  db: Db,
  actor: Actor,
  input: BlockCreateInput,
  defaultSipStatus: number,
): Promise<BlockedNumber> {
  const pattern = (input.number ?? input.prefix)!;
  const expiresAt = input.expires_at
    ? new Date(input.expires_at)
    : input.expires_in_seconds
      ? new Date(Date.now() + input.expires_in_seconds * 1000)
      : null;
  return db.transaction().execute(async (tx) => {
    await tx
      .deleteFrom('blockedNumbers')
      .where('pattern', '=', pattern.digits)
      .where('isPrefix', '=', pattern.isPrefix)
      .where('expiresAt', '<=', new Date())
      .execute();
    const row = await tx
      .insertInto('blockedNumbers')
      .values({
        id: randomUUID(),
        pattern: pattern.digits,
        isPrefix: pattern.isPrefix,
        reason: input.reason ?? null,
        sipStatus: input.sip_status ?? null,
        expiresAt,
      })
      .onConflict((oc) => oc.columns(['pattern', 'isPrefix']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      const what = pattern.isPrefix ? `prefix ${pattern.digits}` : `+${pattern.digits}`;
      throw conflict(`${what} is already blocked; remove it first to change the entry`, {
        field: pattern.isPrefix ? 'prefix' : 'number',
      });
    }
    await audit(tx, actor, {
      action: 'blocklist.add',
      entityType: 'blocked_number',
      entityId: row.id,
      details: serializeEntry(row, defaultSipStatus),
    });
    return row;
  });
}

/** The patterns a path segment may name: a number, a prefix, or both when the digits allow. */
function candidates(ref: string, kind: 'number' | 'prefix' | undefined): Pattern[] {
  const out: Pattern[] = [];
  const asNumber = numberPattern(ref.startsWith('+') ? ref : `+${ref}`);
  const asPrefix = prefixPattern(ref);
  if (kind !== 'prefix' && asNumber.ok) out.push(asNumber.pattern);
  if (kind !== 'number' && asPrefix.ok) out.push(asPrefix.pattern);
  return out;
}

/**
 * Removes the entry `ref` names (its id, the number, or the prefix; a number entry wins over a
 * prefix with the same digits unless `kind` says which) with an audit entry.
 */
export async function deleteEntry(
  db: Db,
  actor: Actor,
  ref: string,
  kind: 'number' | 'prefix' | undefined,
  defaultSipStatus: number,
): Promise<BlockedNumber> {
  const trimmed = ref.trim();
  return db.transaction().execute(async (tx) => {
    let row: BlockedNumber | undefined;
    if (isUuid(trimmed)) {
      row = await tx
        .deleteFrom('blockedNumbers')
        .where('id', '=', trimmed.toLowerCase())
        .returningAll()
        .executeTakeFirst();
    }
    for (const p of candidates(trimmed, kind)) {
      if (row) break;
      row = await tx
        .deleteFrom('blockedNumbers')
        .where('pattern', '=', p.digits)
        .where('isPrefix', '=', p.isPrefix)
        .returningAll()
        .executeTakeFirst();
    }
    if (!row) throw notFound('blocklist entry', ref);
    await audit(tx, actor, {
      action: 'blocklist.remove',
      entityType: 'blocked_number',
      entityId: row.id,
      details: serializeEntry(row, defaultSipStatus),
    });
    return row;
  });
}
