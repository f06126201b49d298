import { Router } from 'express';
import type { Db } from '../db/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { GatewayError, notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import { listBans, listLockouts, unlockUsers } from './protection.js';
import type { EdgeRpc } from './rpc.js';

export interface EdgeRouteDeps {
  db: Db;
  /** Undefined when the edge is not enabled. */
  rpc: EdgeRpc | undefined;
  lockSeconds: number;
  banSeconds: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** /api/edge/lockouts, /api/edge/bans, POST /api/trunks/:id/unlock. */
export function edgeRouter(deps: EdgeRouteDeps): Router {
  const r = Router();
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');
  const rpcOrThrow = () => {
    if (!deps.rpc)
      throw new GatewayError('edge_disabled', 'the SIP edge is not enabled (EDGE_ENABLED=false)');
    return deps.rpc;
  };

  r.get('/edge/lockouts', viewer, async (_req, res) => {
    res.json({ items: await listLockouts(rpcOrThrow(), deps.lockSeconds) });
  });
  r.post('/edge/lockouts/:user/unlock', operator, async (req, res) => {
    const user = pathParam(req, 'user');
    const unlocked = await unlockUsers({ db: deps.db, rpc: rpcOrThrow() }, actorOf(req), [user], {
      type: 'sip_user',
      id: user,
    });
    res.json({ unlocked });
  });
  r.get('/edge/bans', viewer, async (_req, res) => {
    res.json({ items: await listBans(rpcOrThrow(), deps.banSeconds) });
  });
  r.post('/trunks/:id/unlock', operator, async (req, res) => {
    const ref = pathParam(req);
    const trunk = await deps.db
      .selectFrom('trunks')
      .select(['id', 'inboundUsername', 'username'])
      .where(UUID.test(ref) ? 'id' : 'trunkId', '=', UUID.test(ref) ? ref.toLowerCase() : ref)
      .executeTakeFirst();
    if (!trunk) throw notFound('trunk', ref);
    const users = [trunk.inboundUsername, trunk.username].filter((u): u is string => Boolean(u));
    const unlocked = await unlockUsers({ db: deps.db, rpc: rpcOrThrow() }, actorOf(req), users, {
      type: 'trunk',
      id: trunk.id,
    });
    res.json({ trunk_id: ref, sip_users: users, unlocked });
  });
  return r;
}
