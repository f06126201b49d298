import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit/index.js';
import type { PrismaClient } from '../db/index.js';
import { actorOf, requireRole } from '../http/auth.js';
import { notFound, parseBody } from '../http/errors.js';
import { pathParam } from '../http/params.js';
import { createApiKey, roles } from './keys.js';

const createSchema = z
  .object({ name: z.string().trim().min(1).max(100), role: z.enum(roles as [string, ...string[]]) })
  .strict();

const view = (k: {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  created_at: k.createdAt.toISOString(),
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
});

/** /api/keys: admins create (the key is in the response once), list and revoke API keys. */
export function apiKeysRouter(prisma: PrismaClient): Router {
  const r = Router();
  r.use('/keys', requireRole('admin'));
  r.get('/keys', async (_req, res) => {
    const keys = await prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
    res.json({ items: keys.map(view) });
  });
  r.post('/keys', async (req, res) => {
    const input = parseBody(createSchema, req.body);
    const created = await prisma.$transaction(async (tx) => {
      const result = await createApiKey(tx, input.name, input.role as (typeof roles)[number]);
      await audit(tx, actorOf(req), {
        action: 'api_key.create',
        entityType: 'api_key',
        entityId: result.record.id,
        details: view(result.record),
      });
      return result;
    });
    res.status(201).json({ ...view(created.record), key: created.key });
  });
  r.delete('/keys/:id', async (req, res) => {
    const key = await prisma.apiKey.findFirst({
      where: {
        OR: [
          { prefix: pathParam(req) },
          ...(/^[0-9a-f-]{36}$/i.test(pathParam(req)) ? [{ id: pathParam(req) }] : []),
        ],
      },
    });
    if (!key) throw notFound('API key', pathParam(req));
    await prisma.$transaction(async (tx) => {
      await tx.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
      await audit(tx, actorOf(req), {
        action: 'api_key.revoke',
        entityType: 'api_key',
        entityId: key.id,
        details: view(key),
      });
    });
    res.status(204).end();
  });
  return r;
}
