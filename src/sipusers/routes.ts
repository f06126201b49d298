import { Router } from 'express';
import { unlockUsers } from '../edge/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { GatewayError } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import type { SipUsersDeps } from './deps.js';
import { pushSipUsers, removeSipUser } from './edge-sync.js';
import {
  listSipUsers,
  sipUserCalls,
  sipUserCredentials,
  sipUserRegistrations,
  sipUserStats,
} from './queries.js';
import {
  sipUserCallsQuerySchema,
  sipUserCreateSchema,
  sipUserListQuerySchema,
  sipUserUpdateSchema,
} from './schemas.js';
import { serializeSipUser } from './serialize.js';
import { bulkCreateSipUsers, createSipUser, deleteSipUser, updateSipUser } from './service.js';
import { getSipUser } from './store.js';

/** /api/sip-users (docs/sip-users.md): admins change, viewers read; never a password back. */
export function sipUsersRouter(deps: SipUsersDeps): Router {
  const r = Router();
  const viewer = requireRole('viewer');
  const admin = requireRole('admin');
  /** The edge learns of a change at once; the next poll repairs a push that failed. */
  const push = async (usernames: string[]) => {
    await deps.syncLivekit?.().catch(() => undefined);
    if (!deps.rpc) return;
    try {
      const users = await deps.db
        .selectFrom('sipUsers')
        .selectAll()
        .where('username', 'in', usernames)
        .execute();
      await pushSipUsers(deps.rpc, deps.box, users);
    } catch {
      // The poll task refills the table; the API change itself succeeded.
    }
  };

  r.get('/sip-users', viewer, async (req, res) => {
    res.json(await listSipUsers(deps, parseBody(sipUserListQuerySchema, req.query)));
  });
  r.post('/sip-users', admin, async (req, res) => {
    const user = await createSipUser(deps, actorOf(req), parseBody(sipUserCreateSchema, req.body));
    await push([user.username]);
    res.status(201).json(user);
  });
  r.post('/sip-users/bulk-create', admin, async (req, res) => {
    const users = await bulkCreateSipUsers(deps, actorOf(req), req.body);
    await push(users.map((u) => u.username));
    res.status(201).json({ created: users.length, users });
  });
  r.get('/sip-users/:id', viewer, async (req, res) => {
    res.json(serializeSipUser(await getSipUser(deps.db, pathParam(req))));
  });
  r.put('/sip-users/:id', admin, async (req, res) => {
    const user = await updateSipUser(
      deps,
      actorOf(req),
      pathParam(req),
      parseBody(sipUserUpdateSchema, req.body),
    );
    await push([user.username]);
    res.json(user);
  });
  r.delete('/sip-users/:id', admin, async (req, res) => {
    const user = await getSipUser(deps.db, pathParam(req));
    await deleteSipUser(deps, actorOf(req), user.id);
    if (deps.rpc) await removeSipUser(deps.rpc, user.username).catch(() => undefined);
    res.status(204).end();
  });
  r.post('/sip-users/:id/unlock', admin, async (req, res) => {
    const user = await getSipUser(deps.db, pathParam(req));
    if (!deps.rpc)
      throw new GatewayError('edge_disabled', 'the SIP edge is not enabled (EDGE_ENABLED=false)');
    const unlocked = await unlockUsers(
      { db: deps.db, rpc: deps.rpc },
      actorOf(req),
      [user.username],
      {
        type: 'sip_user',
        id: user.id,
      },
    );
    await deps.db
      .updateTable('sipUsers')
      .set({ failedAuthAttempts: 0, accountLockedUntil: null })
      .where('id', '=', user.id)
      .execute();
    res.json({ username: user.username, was_locked: unlocked.length > 0 });
  });
  r.get('/sip-users/:id/credentials', viewer, async (req, res) => {
    res.json(await sipUserCredentials(deps, pathParam(req)));
  });
  r.get('/sip-users/:id/registrations', viewer, async (req, res) => {
    res.json(await sipUserRegistrations(deps, pathParam(req)));
  });
  r.get('/sip-users/:id/stats', viewer, async (req, res) => {
    res.json(await sipUserStats(deps, pathParam(req)));
  });
  r.get('/sip-users/:id/calls', viewer, async (req, res) => {
    res.json(
      await sipUserCalls(deps, pathParam(req), parseBody(sipUserCallsQuerySchema, req.query)),
    );
  });
  return r;
}
