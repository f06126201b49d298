import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit/index.js';
import type { ApiKey, Db } from '../db/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import { createApiKey, forgetVerifiedKeys, roles } from './keys.js';
import { isUuid } from '../kernel/uuid.js';

const createSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.enum(roles as [string, ...string[]]),
  })
  .strict();

const view = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  created_at: k.createdAt.toISOString(),
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
});

/** /api/keys: admins create (the key is in the response once), list and revoke API keys. */
export function apiKeysRouter(db: Db): Router {
  const r = Router();
  // Any key: who it is and what its role may do (the console offers only that).
  r.get('/me', requireRole('viewer'), (req, res) => {
    const actor = actorOf(req);
    res.json({ key_id: actor.keyId, name: actor.name, role: actor.role });
  });
  r.use('/keys', requireRole('admin'));
  r.get('/keys', async (_req, res) => {
    const keys = await db.selectFrom('apiKeys').selectAll().orderBy('createdAt').execute();
    res.json({ items: keys.map(view) });
  });
  r.post('/keys', async (req, res) => {
    const input = parseBody(createSchema, req.body);
    const created = await db.transaction().execute(async (tx) => {
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
    const ref = pathParam(req);
    const key = await db
      .selectFrom('apiKeys')
      .selectAll()
      .where((eb) => (isUuid(ref) ? eb('id', '=', ref) : eb('prefix', '=', ref)))
      .executeTakeFirst();
    if (!key) throw notFound('API key', ref);
    await db.transaction().execute(async (tx) => {
      await tx
        .updateTable('apiKeys')
        .set({ revokedAt: new Date() })
        .where('id', '=', key.id)
        .execute();
      await audit(tx, actorOf(req), {
        action: 'api_key.revoke',
        entityType: 'api_key',
        entityId: key.id,
        details: view(key),
      });
    });
    forgetVerifiedKeys();
    res.status(204).end();
  });
  return r;
}
