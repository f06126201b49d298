import { randomBytes } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { AccessToken } from 'livekit-server-sdk';
import { z } from 'zod';
import type { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { roleAllows, type Role } from '../apikeys/keys.js';
import type { GatewayConfig } from '../config/index.js';
import type { Db, SecretBox } from '../db/index.js';
import { authenticate, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { GatewayError } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import { dispatchWebAgent, webAgentProfile } from './agent-dispatch.js';
import { callRoomReason, MONITOR_PREFIX, RESERVED_IDENTITY } from './call-rooms.js';
import { turnFor } from './ice-servers.js';
import { signJoinLink, verifyJoinLink } from './links.js';
import { installationAttributes } from '../trunks/livekit-objects.js';

export interface TurnRoutesDeps {
  config: GatewayConfig;
  db: Db;
  box: SecretBox;
  rooms: RoomServiceClient;
  /** Sends the call hosts' agent (`agentName`) into web rooms whose join names a profile. */
  dispatch: AgentDispatchClient;
  agentName: string;
  onAuthError: (error: unknown) => void;
  /** This installation's id: each web user's token carries it (INSTALLATION_ATTRIBUTE). */
  installation: string;
}

// `+`: LiveKit SIP names call rooms <prefix>_<caller number>_<random>.
const ROOM = /^[A-Za-z0-9_.+-]{1,128}$/;
const identitySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.@+-]{1,64}$/, 'use 1-64 letters, digits and _ . @ + -')
  .refine(
    (identity) => !RESERVED_IDENTITY.test(identity),
    'sip_*, sip-*, agent-* and callee name phone callers and agents; pick another identity',
  );
const joinSchema = z
  .object({
    identity: identitySchema.optional(),
    name: z.string().max(100).optional(),
    link: z.string().optional(),
    agent_profile: z.string().min(1).max(100).optional(),
  })
  .strict();
const linkSchema = z
  .object({
    identity: identitySchema.optional(),
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(3600),
    agent_profile: z.string().min(1).max(100).optional(),
  })
  .strict();

function roomOf(req: Request): string {
  const room = pathParam(req, 'room');
  if (!ROOM.test(room)) {
    throw new GatewayError(
      'validation_failed',
      `room: ${JSON.stringify(room)} is not a valid room name`,
      {
        fields: [{ field: 'room', message: 'use 1-128 letters, digits, _ . + and -' }],
      },
    );
  }
  return room;
}

/**
 * Who may do what in the room (docs/web.md "Who may join which room"). A phone call's room:
 * viewers are refused, operators, admins and signed links listen only, under a `monitor-`
 * identity that can never be the caller's or the agent's. A web room: viewers listen, operators,
 * admins and links talk too.
 */
async function joinGrant(
  deps: TurnRoutesDeps,
  room: string,
  by: Role | 'link',
  identity: string,
): Promise<{ identity: string; talk: boolean }> {
  const callRoom = await callRoomReason({ db: deps.db, rooms: deps.rooms }, room);
  const trusted = by === 'link' || roleAllows(by, 'operator');
  if (!callRoom) return { identity, talk: trusted };
  if (!trusted) {
    throw new GatewayError(
      'call_room_forbidden',
      `room ${JSON.stringify(room)} is a phone call's room (${callRoom}): a viewer key may not join it; an operator key or a signed join link listens only`,
    );
  }
  return { identity: `${MONITOR_PREFIX}${identity}`.slice(0, 64), talk: false };
}

function turnOrThrow(config: GatewayConfig, user: string) {
  const turn = turnFor(config.turn, user);
  if (!turn)
    throw new GatewayError(
      'turn_not_configured',
      'TURN is not configured: set TURN_SECRET (the secret coturn uses)',
    );
  return turn;
}

/**
 * POST /api/rooms/:room/join: a LiveKit token for the room and the ICE servers (TURN with
 * short-lived credentials). Authorised by an API key, or by a signed join link instead.
 */
export function joinRouter(deps: TurnRoutesDeps): Router {
  const r = Router();
  const linkKey = deps.box.deriveKey('join-links');
  const byKey = [authenticate(deps.db, deps.onAuthError), requireRole('viewer')];
  r.post(
    '/api/rooms/:room/join',
    express.json({ limit: '16kb' }),
    (req: Request, res: Response, next: NextFunction) => {
      // A link in the body stands in for an API key; without one, the key is required.
      if (typeof (req.body as { link?: unknown } | undefined)?.link === 'string') return next();
      return byKey[0]!(req, res, (error?: unknown) =>
        error ? next(error) : byKey[1]!(req, res, next),
      );
    },
    async (req, res) => {
      const room = roomOf(req);
      const input = parseBody(joinSchema, req.body ?? {});
      let identity = input.identity ?? `web-${randomBytes(4).toString('hex')}`;
      let agentRef = input.agent_profile;
      if (input.link !== undefined && agentRef !== undefined) {
        throw new GatewayError(
          'validation_failed',
          'agent_profile: a join link names its agent itself; leave agent_profile out',
          { fields: [{ field: 'agent_profile', message: 'not allowed with a link' }] },
        );
      }
      if (input.link !== undefined) {
        const claims = verifyJoinLink(linkKey, input.link, room);
        if (!claims)
          throw new GatewayError(
            'invalid_link',
            'the join link is invalid, expired, or for another room',
          );
        if (claims.identity) identity = claims.identity;
        agentRef = claims.agent_profile_id ?? undefined;
        // A link signed before reserved identities were refused at creation.
        if (RESERVED_IDENTITY.test(identity))
          throw new GatewayError('reserved_identity', 'the join link names a reserved identity');
      }
      const profile = agentRef === undefined ? undefined : await webAgentProfile(deps.db, agentRef);
      const grant = await joinGrant(deps, room, req.actor?.role ?? 'link', identity);
      identity = grant.identity;
      if (profile && !grant.talk) {
        throw new GatewayError(
          'agent_forbidden',
          'only a key or link that may talk in the room may send an agent into it (an operator or admin key, or a signed link, in a web room)',
        );
      }
      const agent = profile
        ? {
            profile_id: profile.id,
            profile_name: profile.name,
            ...(await dispatchWebAgent(deps.dispatch, deps.agentName, room, profile.id)),
          }
        : null;
      const ttl = deps.config.web.joinTokenTtlSeconds;
      const token = new AccessToken(deps.config.livekit.apiKey, deps.config.livekit.apiSecret, {
        identity,
        name: input.name,
        ttl,
        attributes: installationAttributes(deps.installation),
      });
      token.addGrant({
        roomJoin: true,
        room,
        canPublish: grant.talk,
        canSubscribe: true,
        canPublishData: grant.talk,
      });
      const turn = turnFor(deps.config.turn, identity);
      res.json({
        livekit_url: deps.config.web.livekitPublicUrl,
        room,
        identity,
        can_publish: grant.talk,
        agent,
        token: await token.toJwt(),
        expires_at: new Date(Date.now() + ttl * 1000).toISOString(),
        ice_servers: turn?.iceServers ?? [],
        turn: turn
          ? {
              username: turn.credentials.username,
              credential: turn.credentials.credential,
              ttl_seconds: turn.credentials.ttlSeconds,
              expires_at: turn.credentials.expiresAt.toISOString(),
            }
          : null,
      });
    },
  );
  return r;
}

/** GET /api/turn/credentials and POST /api/rooms/:room/links (under the API-key router). */
export function turnRouter(deps: TurnRoutesDeps): Router {
  const r = Router();
  const linkKey = deps.box.deriveKey('join-links');
  r.get('/turn/credentials', requireRole('viewer'), (req, res) => {
    const user =
      typeof req.query.user === 'string' && req.query.user
        ? req.query.user
        : (req.actor?.name ?? 'client');
    const turn = turnOrThrow(deps.config, user);
    res.json({
      username: turn.credentials.username,
      credential: turn.credentials.credential,
      ttl_seconds: turn.credentials.ttlSeconds,
      expires_at: turn.credentials.expiresAt.toISOString(),
      uris: turn.iceServers.flatMap((s) => s.urls),
      ice_servers: turn.iceServers,
    });
  });
  r.post('/rooms/:room/links', requireRole('operator'), async (req, res) => {
    const room = roomOf(req);
    const input = parseBody(linkSchema, req.body ?? {});
    const profile =
      input.agent_profile === undefined
        ? undefined
        : await webAgentProfile(deps.db, input.agent_profile);
    if (profile) {
      const callRoom = await callRoomReason({ db: deps.db, rooms: deps.rooms }, room);
      if (callRoom)
        throw new GatewayError(
          'call_room',
          `room ${JSON.stringify(room)} is a phone call's room (${callRoom}): an agent is sent only into web rooms`,
        );
    }
    const exp = Math.floor(Date.now() / 1000) + input.ttl_seconds;
    const link = signJoinLink(linkKey, {
      room,
      identity: input.identity ?? null,
      exp,
      ...(profile && { agent_profile_id: profile.id }),
    });
    res.status(201).json({
      room,
      link,
      join_url: `/web/?room=${encodeURIComponent(room)}&link=${encodeURIComponent(link)}`,
      agent_profile_id: profile?.id ?? null,
      expires_at: new Date(exp * 1000).toISOString(),
    });
  });
  return r;
}
