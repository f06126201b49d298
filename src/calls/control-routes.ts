import { Router } from 'express';
import { z } from 'zod';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { pathParam } from '../http-kit/params.js';
import { hangupCall, transferCall, transferSchema, type CallControlDeps } from './control.js';
import { dtmfSchema, sendCallDtmf } from './dtmf.js';
import { setCallHold } from './hold.js';
import { startWarmTransfer } from './warm-transfer.js';
import { outboundCallSchema } from './outbound-input.js';
import { placeOutboundCall } from './outbound.js';
import { serializeCall } from './serialize.js';
import { OPEN_CALL_STATUSES } from './statuses.js';

const activeQuerySchema = z.object({
  direction: z.enum(['inbound', 'outbound']).optional(),
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(200).default(50),
});

/** POST /api/calls (and /api/calls/initiate), GET /api/calls/active, POST /api/calls/:id/hangup, /transfer, /dtmf, /hold, /resume. */
export function callControlRouter(deps: CallControlDeps): Router {
  const r = Router();
  const { db } = deps;

  // POST /api/calls/initiate: the spec's name for the same call.
  r.post(['/calls', '/calls/initiate'], requireRole('operator'), async (req, res) => {
    const input = parseBody(outboundCallSchema, req.body);
    const call = await placeOutboundCall(deps, input, actorOf(req));
    res.status(201).json(serializeCall(call));
  });

  r.get('/calls/active', requireRole('viewer'), async (req, res) => {
    const q = parseBody(activeQuerySchema, req.query);
    const base = db
      .selectFrom('calls')
      .where('status', 'in', [...OPEN_CALL_STATUSES])
      .$if(q.direction !== undefined, (qb) => qb.where('direction', '=', q.direction!));
    const [{ total }, rows] = await Promise.all([
      base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      base
        .selectAll()
        .orderBy('startedAt')
        .orderBy('id')
        .offset((q.page - 1) * q.per_page)
        .limit(q.per_page)
        .execute(),
    ]);
    res.json({ items: rows.map(serializeCall), page: q.page, per_page: q.per_page, total });
  });

  r.post('/calls/:id/hangup', requireRole('operator'), async (req, res) => {
    res.json(serializeCall(await hangupCall(deps, pathParam(req), actorOf(req))));
  });

  r.post('/calls/:id/dtmf', requireRole('operator'), async (req, res) => {
    const input = parseBody(dtmfSchema, req.body);
    const { call, sent } = await sendCallDtmf(deps, pathParam(req), input, actorOf(req));
    res.json({ ...serializeCall(call), dtmf_sent: sent });
  });
  r.post('/calls/:id/transfer', requireRole('operator'), async (req, res) => {
    const input = parseBody(transferSchema, req.body ?? {});
    if (input.mode === 'warm') {
      const { call, leg } = await startWarmTransfer(deps, pathParam(req), input, actorOf(req));
      res.status(202).json({ ...serializeCall(call), transfer_leg: serializeCall(leg) });
      return;
    }
    res.json(serializeCall(await transferCall(deps, pathParam(req), input, actorOf(req))));
  });
  for (const action of ['hold', 'resume'] as const) {
    r.post(`/calls/:id/${action}`, requireRole('operator'), async (req, res) => {
      const { call, held } = await setCallHold(deps, pathParam(req), action, actorOf(req));
      res.json({ ...serializeCall(call), on_hold: held });
    });
  }
  return r;
}
