import type { Db } from '../db/index.js';

export interface Actor {
  keyId: string | null;
  name: string;
}

export const systemActor: Actor = { keyId: null, name: 'system' };

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId?: string | null;
  /** Must not contain secrets: callers pass the serialised (secret-free) object. */
  details?: unknown;
}

/** The row an audit entry becomes. */
export function auditRow(actor: Actor, entry: AuditEntry) {
  return {
    actorKeyId: actor.keyId,
    actorName: actor.name,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId ?? null,
    details: JSON.stringify(entry.details ?? {}),
  };
}

/** Appends to the audit log; pass the transaction so the entry commits with the change. */
export async function audit(db: Db, actor: Actor, entry: AuditEntry): Promise<void> {
  await db.insertInto('auditLog').values(auditRow(actor, entry)).execute();
}
