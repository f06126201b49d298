import { Router } from 'express';
import type { GatewayConfig } from '../config/index.js';
import type { Db } from '../db/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { roleAllows } from '../apikeys/keys.js';
import { CredentialCheckThrottle } from './credential-throttle.js';
import { SipClient } from 'livekit-server-sdk';
import { z } from 'zod';
import { parseBody } from '../http-kit/errors.js';
import { GatewayError } from '../errors/index.js';
import { checkCallRoute } from './calls-check.js';
import { pathParam } from '../http-kit/params.js';
import { areas, diagnose, exitCode, type Area } from './index.js';

const callQuery = z.object({
  caller: z.string().min(1),
  called: z.string().min(1),
  source_ip: z.string().refine((v) => /^[0-9a-fA-F.:]+$/.test(v), 'an IP address'),
  from_host: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});

/** GET /api/diagnostics and /api/diagnostics/:area: the CLI's findings as JSON. */
export function diagnosticsRouter(config: GatewayConfig, db: Db): Router {
  const r = Router();
  const credentialChecks = new CredentialCheckThrottle();
  const answer = async (area: Area | 'all', query: Record<string, unknown> = {}) => {
    const turnPair =
      typeof query.username === 'string' && typeof query.credential === 'string'
        ? { username: query.username, credential: query.credential }
        : undefined;
    const sipUser = typeof query.user === 'string' && query.user !== '' ? query.user : undefined;
    const findings = await diagnose(config, area, db, { turnPair, sipUser });
    const code = exitCode(findings);
    return { area, status: code === 0 ? 'pass' : code === 1 ? 'warn' : 'fail', findings };
  };
  r.get('/diagnostics', requireRole('operator'), async (_req, res) => {
    res.json(await answer('all'));
  });
  r.get('/diagnostics/calls', requireRole('operator'), async (req, res) => {
    // Without a call to simulate: every trunk number must reach a rule.
    if (Object.keys(req.query).length === 0) {
      res.json(await answer('calls'));
      return;
    }
    const q = parseBody(callQuery, req.query);
    if (q.username !== undefined || q.password !== undefined) {
      // The answer says whether a trunk takes these credentials: admins only, and throttled.
      const actor = actorOf(req);
      if (!roleAllows(actor.role, 'admin')) {
        throw new GatewayError(
          'forbidden',
          `simulating a call with username/password needs the admin role; your key has ${actor.role}`,
        );
      }
      try {
        credentialChecks.take([`key:${actor.keyId}`, `source:${req.socket.remoteAddress ?? ''}`]);
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'rate_limited')
          res.setHeader('Retry-After', String(error.extra.retry_after_seconds));
        throw error;
      }
    }
    const sip = new SipClient(config.livekit.url, config.livekit.apiKey, config.livekit.apiSecret);
    const { finding, simulation } = await checkCallRoute(sip, {
      caller: q.caller,
      called: q.called,
      sourceIp: q.source_ip,
      fromHost: q.from_host,
      username: q.username,
      password: q.password,
    });
    res.json({ area: 'calls', status: finding.status, findings: [finding], simulation });
  });
  r.get('/diagnostics/:area', requireRole('operator'), async (req, res) => {
    const area = pathParam(req, 'area');
    if (area !== 'all' && !(areas as readonly string[]).includes(area)) {
      throw new GatewayError(
        'not_found',
        `no diagnostics area ${JSON.stringify(area)}; one of ${[...areas, 'all'].join(', ')}`,
      );
    }
    res.json(await answer(area as Area | 'all', req.query));
  });
  return r;
}
