import type { Prisma, PrismaClient } from '../db/index.js';

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
  details?: Prisma.InputJsonValue;
}

export async function audit(
  prisma: Pick<PrismaClient, 'auditLog'>,
  actor: Actor,
  entry: AuditEntry,
): Promise<void> {
  await prisma.auditLog.create({
    data: {
      actorKeyId: actor.keyId,
      actorName: actor.name,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId ?? null,
      details: entry.details ?? {},
    },
  });
}
