import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit/index.js';
import type { Prisma, PrismaClient } from '../db/index.js';
import { actorOf, requireRole } from '../http/auth.js';
import { conflict, notFound, parseBody } from '../http/errors.js';
import { pathParam } from '../http/params.js';

// The settings' shape is filled in by the agent issue; until then any JSON object is kept as is.
const createSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    settings: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
const updateSchema = createSchema.partial().strict();

const view = (p: {
  id: string;
  name: string;
  settings: unknown;
  createdAt: Date;
  updatedAt: Date;
}) => ({
  id: p.id,
  name: p.name,
  settings: p.settings,
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

/** /api/agents: agent profiles that numbers and dispatch rules name. */
export function agentProfilesRouter(prisma: PrismaClient): Router {
  const r = Router();
  const find = async (id: string) => {
    const profile = await prisma.agentProfile.findFirst({
      where: /^[0-9a-f-]{36}$/i.test(id) ? { id } : { name: id },
    });
    if (!profile) throw notFound('agent profile', id);
    return profile;
  };
  r.get('/agents', requireRole('viewer'), async (_req, res) => {
    res.json({
      items: (await prisma.agentProfile.findMany({ orderBy: { name: 'asc' } })).map(view),
    });
  });
  r.get('/agents/:id', requireRole('viewer'), async (req, res) => {
    res.json(view(await find(pathParam(req))));
  });
  r.post('/agents', requireRole('admin'), async (req, res) => {
    const input = parseBody(createSchema, req.body);
    if (await prisma.agentProfile.findUnique({ where: { name: input.name } })) {
      throw conflict(`an agent profile named ${JSON.stringify(input.name)} already exists`);
    }
    const profile = await prisma.$transaction(async (tx) => {
      const row = await tx.agentProfile.create({
        data: { name: input.name, settings: input.settings as Prisma.InputJsonValue },
      });
      await audit(tx, actorOf(req), {
        action: 'agent_profile.create',
        entityType: 'agent_profile',
        entityId: row.id,
        details: view(row) as Prisma.InputJsonValue,
      });
      return row;
    });
    res.status(201).json(view(profile));
  });
  r.put('/agents/:id', requireRole('admin'), async (req, res) => {
    const input = parseBody(updateSchema, req.body);
    const current = await find(pathParam(req));
    const profile = await prisma.$transaction(async (tx) => {
      const row = await tx.agentProfile.update({
        where: { id: current.id },
        data: {
          ...(input.name ? { name: input.name } : {}),
          ...(input.settings ? { settings: input.settings as Prisma.InputJsonValue } : {}),
        },
      });
      await audit(tx, actorOf(req), {
        action: 'agent_profile.update',
        entityType: 'agent_profile',
        entityId: row.id,
        details: { before: view(current), after: view(row) } as Prisma.InputJsonValue,
      });
      return row;
    });
    res.json(view(profile));
  });
  r.delete('/agents/:id', requireRole('admin'), async (req, res) => {
    const current = await find(pathParam(req));
    await prisma.$transaction(async (tx) => {
      await tx.agentProfile.delete({ where: { id: current.id } });
      await audit(tx, actorOf(req), {
        action: 'agent_profile.delete',
        entityType: 'agent_profile',
        entityId: current.id,
        details: view(current) as Prisma.InputJsonValue,
      });
    });
    res.status(204).end();
  });
  return r;
}
