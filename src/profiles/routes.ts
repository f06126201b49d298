import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit/index.js';
import type { AgentProfile, Db } from '../db/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { invalidInput, conflict, notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import {
  profileKeyProblems,
  profileSettingsSchema,
  type ProfileSettings,
} from '../agent/profile.js';
import type { ProviderKeyPolicy } from '../agent/providers/key-policy.js';
import { isUuid } from '../kernel/uuid.js';

// Settings are stored as parsed: with every default filled in, what the agent will do is visible.
const createSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    settings: profileSettingsSchema.prefault({}),
  })
  .strict();
const updateSchema = createSchema.partial().strict();

const view = (p: AgentProfile) => ({
  id: p.id,
  name: p.name,
  settings: p.settings,
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

/** 400 naming each field whose API key would go to a variable or host the policy refuses. */
function checkKeys(settings: ProfileSettings | undefined, policy: ProviderKeyPolicy): void {
  const fields = settings ? profileKeyProblems(settings, policy) : [];
  if (fields.length > 0) {
    throw invalidInput(
      `invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
}

/** /api/agents: agent profiles that numbers and dispatch rules name. */
export function agentProfilesRouter(db: Db, keyPolicy: ProviderKeyPolicy): Router {
  const r = Router();
  const find = async (ref: string) => {
    const profile = await db
      .selectFrom('agentProfiles')
      .selectAll()
      .where((eb) => (isUuid(ref) ? eb('id', '=', ref) : eb('name', '=', ref)))
      .executeTakeFirst();
    if (!profile) throw notFound('agent profile', ref);
    return profile;
  };
  const nameTaken = async (name: string) =>
    Boolean(
      await db.selectFrom('agentProfiles').select('id').where('name', '=', name).executeTakeFirst(),
    );

  r.get('/agents', requireRole('viewer'), async (_req, res) => {
    const rows = await db.selectFrom('agentProfiles').selectAll().orderBy('name').execute();
    res.json({ items: rows.map(view) });
  });
  r.get('/agents/:id', requireRole('viewer'), async (req, res) => {
    res.json(view(await find(pathParam(req))));
  });
  r.post('/agents', requireRole('admin'), async (req, res) => {
    const input = parseBody(createSchema, req.body);
    checkKeys(input.settings, keyPolicy);
    if (await nameTaken(input.name)) {
      throw conflict(`an agent profile named ${JSON.stringify(input.name)} already exists`);
    }
    const profile = await db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('agentProfiles')
        .values({
          id: randomUUID(),
          name: input.name,
          settings: JSON.stringify(input.settings),
          updatedAt: new Date(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, actorOf(req), {
        action: 'agent_profile.create',
        entityType: 'agent_profile',
        entityId: row.id,
        details: view(row),
      });
      return row;
    });
    res.status(201).json(view(profile));
  });
  r.put('/agents/:id', requireRole('admin'), async (req, res) => {
    const input = parseBody(updateSchema, req.body);
    checkKeys(input.settings, keyPolicy);
    const current = await find(pathParam(req));
    if (input.name && input.name !== current.name && (await nameTaken(input.name))) {
      throw conflict(`an agent profile named ${JSON.stringify(input.name)} already exists`);
    }
    const profile = await db.transaction().execute(async (tx) => {
      const row = await tx
        .updateTable('agentProfiles')
        .set({
          ...(input.name ? { name: input.name } : {}),
          ...(input.settings ? { settings: JSON.stringify(input.settings) } : {}),
          updatedAt: new Date(),
        })
        .where('id', '=', current.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, actorOf(req), {
        action: 'agent_profile.update',
        entityType: 'agent_profile',
        entityId: row.id,
        details: { before: view(current), after: view(row) },
      });
      return row;
    });
    res.json(view(profile));
  });
  r.delete('/agents/:id', requireRole('admin'), async (req, res) => {
    const current = await find(pathParam(req));
    await db.transaction().execute(async (tx) => {
      await tx.deleteFrom('agentProfiles').where('id', '=', current.id).execute();
      await audit(tx, actorOf(req), {
        action: 'agent_profile.delete',
        entityType: 'agent_profile',
        entityId: current.id,
        details: view(current),
      });
    });
    res.status(204).end();
  });
  return r;
}
