import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/index.js';
import { requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';

const querySchema = z.object({
  entity_type: z.string().optional(),
  entity_id: z.string().optional(),
  action: z.string().optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(200).default(50),
});

/** GET /api/audit: newest first. */
export function auditRouter(db: Db): Router {
  const r = Router();
  r.get('/audit', requireRole('admin'), async (req, res) => {
    const q = parseBody(querySchema, req.query);
    let query = db.selectFrom('auditLog');
    if (q.entity_type) query = query.where('entityType', '=', q.entity_type);
    if (q.entity_id) query = query.where('entityId', '=', q.entity_id);
    if (q.action) query = query.where('action', '=', q.action);
    const [{ total }, rows] = await Promise.all([
      query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      query
        .selectAll()
        .orderBy('id', 'desc')
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
        .execute(),
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
