import { Router } from 'express';
import { audit } from '../audit/index.js';
import { assertDestination } from '../calls/destinations.js';
import { e164Field } from '../calls/dial-plan.js';
import type { Db } from '../db/index.js';
import type { DestinationPolicy } from '../destinations/index.js';
import { actorOf, requireRole } from '../http-kit/auth.js';
import { parseBody } from '../http-kit/errors.js';
import { GatewayError, invalidInput, notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import { findTrunk } from '../trunks/store.js';
import { smsHistorySchema, smsSendSchema } from './schemas.js';
import { countSegments } from './segments.js';
import { queueOutbound, serializeSms } from './store.js';
import { isUuid } from '../kernel/uuid.js';

export interface SmsRouteDeps {
  db: Db;
  destinations: DestinationPolicy;
  /** Tells the SMS worker a message is due now. */
  kick: () => void;
}

const field = (name: string, message: string) =>
  invalidInput(`${name}: ${message}`, [{ field: name, message }]);

/** Whether the blocklist has the number or a prefix of it (texts to it are refused too). */
async function blocked(db: Db, e164: string): Promise<boolean> {
  const digits = e164.replace(/\D/g, '');
  const prefixes = Array.from({ length: digits.length }, (_, i) => digits.slice(0, i + 1));
  const hit = await db
    .selectFrom('blockedNumbers')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('isPrefix', '=', false), eb('pattern', '=', digits)]),
        eb.and([eb('isPrefix', '=', true), eb('pattern', 'in', prefixes)]),
      ]),
    )
    .where((eb) => eb.or([eb('expiresAt', 'is', null), eb('expiresAt', '>', new Date())]))
    .limit(1)
    .executeTakeFirst();
  return hit !== undefined;
}

/** POST /api/sms/send, GET /api/sms/history, GET /api/sms/:id (docs/sms.md). */
export function smsRouter(deps: SmsRouteDeps): Router {
  const r = Router();
  const viewer = requireRole('viewer');
  const operator = requireRole('operator');

  r.post('/sms/send', operator, async (req, res) => {
    const input = parseBody(smsSendSchema, req.body);
    const fromNumber = e164Field('from_number', input.from_number);
    const toNumber = e164Field('to_number', input.to_number);
    const owned = await deps.db
      .selectFrom('phoneNumbers')
      .select('trunkId')
      .where('number', '=', fromNumber)
      .executeTakeFirst();
    if (!owned)
      throw field('from_number', `${fromNumber} is not one of our numbers (see GET /api/numbers)`);
    const trunk = await findTrunk(deps.db, input.trunk_id ?? owned.trunkId);
    if (!trunk) throw field('trunk_id', `trunk ${JSON.stringify(input.trunk_id)} does not exist`);
    if (trunk.id !== owned.trunkId)
      throw field('from_number', `${fromNumber} belongs to another trunk than ${trunk.trunkId}`);
    if (trunk.status !== 'active')
      throw new GatewayError(
        'trunk_inactive',
        `trunk ${trunk.trunkId} is inactive; activate it first`,
      );
    if (!trunk.supportsOutbound || !trunk.proxyAddress)
      throw field(
        'trunk_id',
        `trunk ${trunk.trunkId} sends nothing out (supports_outbound and proxy_address)`,
      );
    const measured = countSegments(input.message);
    if (measured.segments > trunk.smsMaxSegments)
      throw field(
        'message',
        `takes ${measured.segments} ${measured.encoding === 'gsm7' ? 'GSM-7' : 'UCS-2'} segments; trunk ${trunk.trunkId} takes at most ${trunk.smsMaxSegments} (sms_max_segments)`,
      );
    const actor = actorOf(req);
    await assertDestination(
      { db: deps.db, destinations: deps.destinations },
      { trunkId: trunk.id, target: toNumber, field: 'to_number', actor, action: 'sms.send' },
    );
    if (await blocked(deps.db, toNumber))
      throw new GatewayError('blocked_number', 'to_number: the number is on the blocklist', {
        field: 'to_number',
      });
    const row = await deps.db.transaction().execute(async (tx) => {
      const queued = await queueOutbound(tx, {
        fromNumber,
        toNumber,
        body: input.message,
        trunkId: trunk.id,
        webhookUrl: input.webhook_url,
      });
      await audit(tx, actor, {
        action: 'sms.send',
        entityType: 'sms',
        entityId: queued.id,
        details: { trunk_id: trunk.trunkId, segments: queued.segments },
      });
      return queued;
    });
    deps.kick();
    res.status(202).json(serializeSms(row, trunk.trunkId));
  });

  r.get('/sms/history', viewer, async (req, res) => {
    const q = parseBody(smsHistorySchema, req.query);
    let query = deps.db
      .selectFrom('smsMessages')
      .leftJoin('trunks', 'trunks.id', 'smsMessages.trunkId')
      .selectAll('smsMessages')
      .select('trunks.trunkId as trunkSlug');
    if (q.number) {
      const n = e164Field('number', q.number);
      query = query.where((eb) => eb.or([eb('fromNumber', '=', n), eb('toNumber', '=', n)]));
    }
    if (q.direction) query = query.where('direction', '=', q.direction);
    if (q.status) query = query.where('smsMessages.status', '=', q.status);
    if (q.since) query = query.where('smsMessages.createdAt', '>=', new Date(q.since));
    if (q.until) query = query.where('smsMessages.createdAt', '<', new Date(q.until));
    const rows = await query
      .orderBy('smsMessages.createdAt', 'desc')
      .orderBy('smsMessages.id')
      .limit(q.limit)
      .execute();
    res.json({ items: rows.map((row) => serializeSms(row, row.trunkSlug)) });
  });

  r.get('/sms/:id', viewer, async (req, res) => {
    const id = pathParam(req);
    if (!isUuid(id)) throw notFound('sms', id);
    const row = await deps.db
      .selectFrom('smsMessages')
      .leftJoin('trunks', 'trunks.id', 'smsMessages.trunkId')
      .selectAll('smsMessages')
      .select('trunks.trunkId as trunkSlug')
      .where('smsMessages.id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('sms', id);
    res.json(serializeSms(row, row.trunkSlug));
  });
  return r;
}
