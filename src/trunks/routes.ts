import { Router } from 'express';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { pathParam } from '../http-kit/params.js';
import type { TrunksDeps } from './deps.js';
import {
  createNumber,
  deleteNumber,
  getNumber,
  listNumbers,
  updateNumber,
} from './number-service.js';
import { getProviderPreset, providerIds } from './provider-presets.js';
import { reconcile, type ReconcileMode } from './reconcile.js';
import { createRule, deleteRule, getRule, listRules, updateRule } from './rule-service.js';
import {
  numberCreateSchema,
  numberListQuerySchema,
  numberUpdateSchema,
  ruleCreateSchema,
  ruleUpdateSchema,
  trunkCreateSchema,
  trunkListQuerySchema,
  trunkUpdateSchema,
} from './schemas.js';
import { serializeRule, serializeTrunk } from './serialize.js';
import { listTrunks, trunkCredentials, trunkStatus, trunkSummary } from './trunk-queries.js';
import { getTrunk } from './store.js';
import { createTrunk, deleteTrunk, setTrunkStatus, updateTrunk } from './trunk-service.js';

/** /api/trunks, /api/numbers, /api/dispatch-rules, /api/providers, /api/reconcile. */
export function trunksRouter(deps: TrunksDeps, defaultMode: ReconcileMode): Router {
  const r = Router();
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');
  const admin = requireRole('admin');
  r.use(['/trunks', '/numbers'], (req, res, next) => {
    if (deps.onChange && req.method !== 'GET')
      res.once('finish', () => {
        if (res.statusCode < 400) deps.onChange?.();
      });
    next();
  });

  r.get('/providers', viewer, (_req, res) => {
    res.json({ items: providerIds.map((id) => getProviderPreset(id)) });
  });

  r.get('/trunks/stats/summary', viewer, async (_req, res) => {
    res.json(await trunkSummary(deps));
  });
  r.get('/trunks', viewer, async (req, res) => {
    res.json(await listTrunks(deps, parseBody(trunkListQuerySchema, req.query)));
  });
  r.post('/trunks', admin, async (req, res) => {
    res
      .status(201)
      .json(await createTrunk(deps, actorOf(req), parseBody(trunkCreateSchema, req.body)));
  });
  r.get('/trunks/:id', viewer, async (req, res) => {
    res.json(serializeTrunk(await getTrunk(deps.db, pathParam(req))));
  });
  r.put('/trunks/:id', admin, async (req, res) => {
    res.json(
      await updateTrunk(deps, actorOf(req), pathParam(req), parseBody(trunkUpdateSchema, req.body)),
    );
  });
  r.delete('/trunks/:id', admin, async (req, res) => {
    await deleteTrunk(deps, actorOf(req), pathParam(req));
    res.status(204).end();
  });
  r.get('/trunks/:id/status', viewer, async (req, res) => {
    res.json(await trunkStatus(deps, pathParam(req)));
  });
  r.get('/trunks/:id/credentials', operator, async (req, res) => {
    res.json(await trunkCredentials(deps, pathParam(req)));
  });
  r.post('/trunks/:id/activate', operator, async (req, res) => {
    res.json(await setTrunkStatus(deps, actorOf(req), pathParam(req), 'active'));
  });
  r.post('/trunks/:id/deactivate', operator, async (req, res) => {
    res.json(await setTrunkStatus(deps, actorOf(req), pathParam(req), 'inactive'));
  });

  r.get('/numbers', viewer, async (req, res) => {
    res.json(await listNumbers(deps, parseBody(numberListQuerySchema, req.query)));
  });
  r.post('/numbers', admin, async (req, res) => {
    res
      .status(201)
      .json(await createNumber(deps, actorOf(req), parseBody(numberCreateSchema, req.body)));
  });
  r.get('/numbers/:id', viewer, async (req, res) => {
    res.json(await getNumber(deps, pathParam(req)));
  });
  r.put('/numbers/:id', admin, async (req, res) => {
    res.json(
      await updateNumber(
        deps,
        actorOf(req),
        pathParam(req),
        parseBody(numberUpdateSchema, req.body),
      ),
    );
  });
  r.delete('/numbers/:id', admin, async (req, res) => {
    await deleteNumber(deps, actorOf(req), pathParam(req));
    res.status(204).end();
  });

  r.get('/dispatch-rules', viewer, async (_req, res) => {
    res.json(await listRules(deps));
  });
  r.post('/dispatch-rules', admin, async (req, res) => {
    res
      .status(201)
      .json(await createRule(deps, actorOf(req), parseBody(ruleCreateSchema, req.body)));
  });
  r.get('/dispatch-rules/:id', viewer, async (req, res) => {
    res.json(serializeRule(await getRule(deps.db, pathParam(req))));
  });
  r.put('/dispatch-rules/:id', admin, async (req, res) => {
    res.json(
      await updateRule(deps, actorOf(req), pathParam(req), parseBody(ruleUpdateSchema, req.body)),
    );
  });
  r.delete('/dispatch-rules/:id', admin, async (req, res) => {
    await deleteRule(deps, actorOf(req), pathParam(req));
    res.status(204).end();
  });

  r.post('/reconcile', operator, async (req, res) => {
    const mode =
      req.query.mode === 'report' || req.query.mode === 'repair' ? req.query.mode : defaultMode;
    const report = await reconcile(deps, mode, actorOf(req));
    res.status(report.livekit_reachable ? 200 : 503).json(report);
  });
  return r;
}
