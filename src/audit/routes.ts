import { Router } from 'express';
import { z } from 'zod';
import type { Prisma, PrismaClient } from '../db/index.js';
import { requireRole } from '../http/auth.js';
import { parseBody } from '../http/errors.js';

const querySchema = z.object({
  entity_type: z.string().optional(),
  entity_id: z.string().optional(),
  action: z.string().optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(200).default(50),
});

/** GET /api/audit: newest first. */
export function auditRouter(prisma: PrismaClient): Router {
  const r = Router();
  r.get('/audit', requireRole('admin'), async (req, res) => {
    const q = parseBody(querySchema, req.query);
    const where: Prisma.AuditLogWhereInput = {
      ...(q.entity_type ? { entityType: q.entity_type } : {}),
      ...(q.entity_id ? { entityId: q.entity_id } : {}),
      ...(q.action ? { action: q.action } : {}),
    };
    const [total, rows] = await Promise.all([
      prisma.auditLog.count({ where }),
      prisma.auditLog.findMany({
        where,
        orderBy: { id: 'desc' },
        skip: (q.page - 1) * q.per_page,
        take: q.per_page,
      }),
    ]);
    res.json({
      total,
      page: q.page,
      per_page: q.per_page,
      items: rows.map((row) => ({
        id: Number(row.id),
        at: row.at.toISOString(),
        actor: row.actorName,
        actor_key_id: row.actorKeyId,
        action: row.action,
        entity_type: row.entityType,
        entity_id: row.entityId,
        details: row.details,
      })),
    });
  });
  return r;
}
