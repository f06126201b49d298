import { Router } from 'express';
import type { Logger } from '../kernel/logger.js';
import type { Db } from '../db/index.js';
import type { EdgeRpc } from '../edge/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { pathParam } from '../http-kit/params.js';
import { pushEntry, removeEntry } from './edge-sync.js';
import { blockCreateSchema, blockDeleteQuerySchema } from './schemas.js';
import { activeEntries, createEntry, deleteEntry, serializeEntry } from './store.js';

export interface BlocklistRouteDeps {
  db: Db;
  logger: Logger;
  /** The SIP edge's JSON-RPC; undefined when the edge is not enabled. */
  rpc: EdgeRpc | undefined;
  defaultSipStatus: number;
}

/**
 * How far a change got: `applied` at the edge now, `pending` until the edge supervisor's next
 * poll (the edge did not answer), `edge_disabled` (stored; nothing refuses calls without the edge).
 */
type EdgeOutcome = 'applied' | 'pending' | 'edge_disabled';

/** POST /api/numbers/block, DELETE /api/numbers/block/:number, GET /api/numbers/blocked. */
export function blocklistRouter(deps: BlocklistRouteDeps): Router {
  const r = Router();
  const viewer = requireRole('viewer');
  const admin = requireRole('admin');

  const atEdge = async (work: (rpc: EdgeRpc) => Promise<void>): Promise<EdgeOutcome> => {
    if (!deps.rpc) return 'edge_disabled';
    try {
      await work(deps.rpc);
      return 'applied';
    } catch (error) {
      deps.logger.warn({ err: error }, 'blocklist change not applied at the sip edge yet');
      return 'pending';
    }
  };

  r.get('/numbers/blocked', viewer, async (_req, res) => {
    const rows = await activeEntries(deps.db);
    res.json({ items: rows.map((row) => serializeEntry(row, deps.defaultSipStatus)) });
  });
  r.post('/numbers/block', admin, async (req, res) => {
    const input = parseBody(blockCreateSchema, req.body);
    const row = await createEntry(deps.db, actorOf(req), input, deps.defaultSipStatus);
    const edge = await atEdge((rpc) => pushEntry(rpc, row, deps.defaultSipStatus));
    res.status(201).json({ ...serializeEntry(row, deps.defaultSipStatus), edge });
  });
  r.delete('/numbers/block/:number', admin, async (req, res) => {
    const { kind } = parseBody(blockDeleteQuerySchema, req.query);
    const row = await deleteEntry(
      deps.db,
      actorOf(req),
      pathParam(req, 'number'),
      kind,
      deps.defaultSipStatus,
    );
    const edge = await atEdge((rpc) => removeEntry(rpc, row));
    res.json({ ...serializeEntry(row, deps.defaultSipStatus), edge });
  });
  return r;
}
