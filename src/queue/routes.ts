import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit/index.js';
import type { Db } from '../db/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { conflict, notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import { callerPatternFields, exactlyOnePattern } from '../blocklist/schemas.js';
import { queueSnapshot } from './admission.js';
import { OPEN_CALL_STATUSES } from '../calls/statuses.js';

const priorityCallerSchema = z
  .object({
    ...callerPatternFields,
    /** Higher is served first; a number's own queue_priority is 0 unless set. */
    priority: z.number().int().min(-1000).max(1000),
    label: z.string().max(200).optional(),
  })
  .strict()
  .superRefine(exactlyOnePattern);

const seconds = (from: Date, to: Date) => Math.round((to.getTime() - from.getTime()) / 100) / 10;

/** GET /api/calls/queue and the priority callers list (/api/queue/priority-callers). */
export function queueRouter(deps: { db: Db; maxActive: number | undefined }): Router {
  const r = Router();
  const { db } = deps;

  r.get('/calls/queue', requireRole('viewer'), async (_req, res) => {
    const now = new Date();
    const { active, queued, limits } = await queueSnapshot(db, deps.maxActive);
    const rooms = [...active, ...queued.map((q) => q.slot)].map((s) => s.roomName);
    const calls = rooms.length
      ? await db
          .selectFrom('calls')
          .select(['id', 'roomName'])
          .where('roomName', 'in', rooms)
          .where('status', 'in', [...OPEN_CALL_STATUSES])
          .execute()
      : [];
    const callOf = new Map(calls.map((c) => [c.roomName, c.id]));
    res.json({
      active: active.length,
      queued: queued.map(({ slot, position }) => ({
        call_id: callOf.get(slot.roomName) ?? null,
        room_name: slot.roomName,
        position,
        priority: slot.priority,
        waited_seconds: seconds(slot.enqueuedAt, now),
        enqueued_at: slot.enqueuedAt.toISOString(),
        trunk_uuid: slot.trunkId,
        to_number: slot.toNumber,
        from_number: slot.fromNumber,
        agent_profile_id: slot.agentProfileId,
      })),
      limits: {
        max_active: limits.global ?? null,
        trunks: Object.fromEntries(limits.trunk),
        numbers: Object.fromEntries(limits.number),
        agent_profiles: Object.fromEntries(limits.profile),
      },
    });
  });

  r.get('/queue/priority-callers', requireRole('viewer'), async (_req, res) => {
    const rows = await db.selectFrom('priorityCallers').selectAll().orderBy('createdAt').execute();
    res.json({ items: rows.map(serializePriorityCaller) });
  });

  r.post('/queue/priority-callers', requireRole('admin'), async (req, res) => {
    const input = parseBody(priorityCallerSchema, req.body);
    const { digits: pattern, isPrefix } = (input.number ?? input.prefix)!;
    const row = await db.transaction().execute(async (tx) => {
      const clash = await tx
        .selectFrom('priorityCallers')
        .select('id')
        .where('pattern', '=', pattern)
        .where('isPrefix', '=', isPrefix)
        .executeTakeFirst();
      if (clash) throw conflict(`${isPrefix ? 'prefix' : 'number'} ${pattern} is already listed`);
      const created = await tx
        .insertInto('priorityCallers')
        .values({
          id: randomUUID(),
          pattern,
          isPrefix,
          priority: input.priority,
          label: input.label ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(tx, actorOf(req), {
        action: 'queue.priority_caller.create',
        entityType: 'priority_caller',
        entityId: created.id,
        details: { is_prefix: isPrefix, priority: input.priority },
      });
      return created;
    });
    res.status(201).json(serializePriorityCaller(row));
  });

  r.delete('/queue/priority-callers/:id', requireRole('admin'), async (req, res) => {
    const id = pathParam(req);
    if (!z.uuid().safeParse(id).success) throw notFound('priority caller', id);
    await db.transaction().execute(async (tx) => {
      const gone = await tx
        .deleteFrom('priorityCallers')
        .where('id', '=', id)
        .returning('id')
        .executeTakeFirst();
      if (!gone) throw notFound('priority caller', id);
      await audit(tx, actorOf(req), {
        action: 'queue.priority_caller.delete',
        entityType: 'priority_caller',
        entityId: id,
      });
    });
    res.status(204).end();
  });
  return r;
}

function serializePriorityCaller(row: {
  id: string;
  pattern: string;
  isPrefix: boolean;
  priority: number;
  label: string | null;
  createdAt: Date;
}) {
  return {
    id: row.id,
    ...(row.isPrefix ? { prefix: `+${row.pattern}` } : { number: `+${row.pattern}` }),
    priority: row.priority,
    label: row.label,
    created_at: row.createdAt.toISOString(),
  };
}
