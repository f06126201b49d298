import { Router } from 'express';
import type { ExpressionBuilder } from 'kysely';
import { z } from 'zod';
import type { DB, Db } from '../db/index.js';
import { requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { invalidInput, notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import { toE164 } from '../trunks/index.js';
import { isUuid } from '../kernel/uuid.js';
import { findTrunk } from '../trunks/store.js';
import { csvExport } from './csv.js';
import { reconcileCalls, type CallsReconcileDeps } from './reconcile.js';
import { csvColumns, serializeCall } from './serialize.js';

const filtersSchema = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  trunk_id: z.string().optional(),
  number: z.string().optional(),
  direction: z.enum(['inbound', 'outbound']).optional(),
  status: z.enum(['ringing', 'active', 'ended', 'failed', 'blocked']).optional(),
  channel: z.enum(['sip', 'web']).optional(),
  agent_profile_id: z.uuid().optional(),
});
const listSchema = filtersSchema.extend({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(200).default(50),
});

type Filters = z.infer<typeof filtersSchema>;

/** Turns the query's filters into a WHERE; unknown trunk or bad number is a 400 naming it. */
async function whereOf(db: Db, f: Filters) {
  let trunkUuid: string | undefined;
  if (f.trunk_id) {
    const trunk = await findTrunk(db, f.trunk_id);
    if (!trunk)
      throw invalidInput(`trunk_id: trunk ${JSON.stringify(f.trunk_id)} does not exist`, [
        { field: 'trunk_id', message: 'no such trunk' },
      ]);
    trunkUuid = trunk.id;
  }
  let number: string | undefined;
  if (f.number) {
    const parsed = toE164(f.number);
    if (!parsed.ok)
      throw invalidInput(`number: ${parsed.error}`, [{ field: 'number', message: parsed.error }]);
    number = parsed.e164;
  }
  return (eb: ExpressionBuilder<DB, 'calls'>) =>
    eb.and([
      ...(f.from ? [eb('startedAt', '>=', new Date(f.from))] : []),
      ...(f.to ? [eb('startedAt', '<', new Date(f.to))] : []),
      ...(trunkUuid ? [eb('trunkId', '=', trunkUuid)] : []),
      ...(number ? [eb.or([eb('fromNumber', '=', number), eb('toNumber', '=', number)])] : []),
      ...(f.direction ? [eb('direction', '=', f.direction)] : []),
      ...(f.status ? [eb('status', '=', f.status)] : []),
      ...(f.channel ? [eb('channel', '=', f.channel)] : []),
      ...(f.agent_profile_id ? [eb('agentProfileId', '=', f.agent_profile_id)] : []),
    ]);
}

/** GET /api/calls, /api/calls/export.csv, /api/calls/:id (GET /api/calls/active: control-routes.ts). */
export function callsRouter(db: Db, reconcileDeps: Omit<CallsReconcileDeps, 'db'>): Router {
  const r = Router();
  const viewer = requireRole('viewer');

  r.post('/calls/reconcile', requireRole('operator'), async (_req, res) => {
    res.json(await reconcileCalls({ db, ...reconcileDeps }));
  });

  r.get('/calls', viewer, async (req, res) => {
    const q = parseBody(listSchema, req.query);
    const where = await whereOf(db, q);
    const [{ total }, rows] = await Promise.all([
      db
        .selectFrom('calls')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where(where)
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('calls')
        .selectAll()
        .where(where)
        .orderBy('startedAt', 'desc')
        .orderBy('id')
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
        .execute(),
    ]);
    res.json({ items: rows.map(serializeCall), page: q.page, per_page: q.per_page, total });
  });

  r.get('/calls/export.csv', viewer, async (req, res) => {
    const where = await whereOf(db, parseBody(filtersSchema, req.query));
    res.type('text/csv').attachment('calls.csv');
    const csv = csvExport(csvColumns);
    csv.pipe(res);
    // Stream in pages so an export of a long history does not sit in memory.
    const pageSize = 1000;
    for (let offset = 0; ; offset += pageSize) {
      const rows = await db
        .selectFrom('calls')
        .selectAll()
        .where(where)
        .orderBy('startedAt')
        .orderBy('id')
        .offset(offset)
        .limit(pageSize)
        .execute();
      for (const row of rows) csv.write(serializeCall(row));
      if (rows.length < pageSize) break;
    }
    csv.end();
  });

  r.get('/calls/:id', viewer, async (req, res) => {
    const id = pathParam(req);
    if (!isUuid(id)) throw notFound('call', id);
    const call = await db.selectFrom('calls').selectAll().where('id', '=', id).executeTakeFirst();
    if (!call) throw notFound('call', id);
    const events = await db
      .selectFrom('callEvents')
      .selectAll()
      .where('callId', '=', id)
      .orderBy('at')
      .orderBy('id')
      .execute();
    const transferLegs = await db
      .selectFrom('calls')
      .selectAll()
      .where('parentCallId', '=', id)
      .orderBy('startedAt')
      .execute();
    res.json({
      ...serializeCall(call),
      transfer_legs: transferLegs.map(serializeCall),
      transcript: call.transcript,
      latency: call.latency,
      events: events.map((e) => ({ at: e.at.toISOString(), type: e.type, data: e.data })),
    });
  });
  return r;
}
