import { randomBytes, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import type { Logger } from '../kernel/logger.js';
import type { Db, SecretBox } from '../db/index.js';
import { applyDeliveryReport, parseDeliveryReport } from './delivery-report.js';
import { challengeHeader, digestValid } from './inbound-auth.js';
import { smsMessages } from './metrics.js';
import { buildResponse, header, parseRequest, uriUser, type SipRequest } from './sip-text.js';
import { storeInbound } from './store.js';
import { isUuid } from '../kernel/uuid.js';

export interface SmsListenerDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  /** What the edge puts in X-Edge-Sms (smsEdgeToken of EDGE_RPC_SECRET). */
  edgeToken: string;
  /** Called after a new message was stored (to look for replies now). */
  onStored?: () => void;
  /** Called after a delivery report changed a message (its webhook is due). */
  onReport?: () => void;
}

export interface SmsListener {
  port: number;
  close(): Promise<void>;
}

/** The longest text taken from a provider (a long MESSAGE of 10 UCS-2 segments is ~2 KB). */
const MAX_BODY_BYTES = 16 * 1024;

/** "+1 555", "15550100" -> "+1555..." ; an alphanumeric sender ("BANK") stays as it is. */
export function normaliseNumber(user: string): string {
  const digits = user.replace(/[\s().-]/g, '');
  if (/^\+?\d{3,15}$/.test(digits)) return `+${digits.replace(/^\+/, '')}`;
  return user.slice(0, 64);
}

function sameToken(given: string | undefined, wanted: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(wanted);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Verdict {
  code: number;
  reason: string;
  extra?: string[];
}

async function handle(deps: SmsListenerDeps, request: SipRequest): Promise<Verdict> {
  if (request.method !== 'MESSAGE') return { code: 405, reason: 'Method Not Allowed' };
  if (!sameToken(header(request, 'x-edge-sms'), deps.edgeToken)) {
    deps.logger.warn('sms listener refused a MESSAGE without the edge token');
    smsMessages.inc({ direction: 'inbound', outcome: 'refused' });
    return { code: 403, reason: 'Forbidden' };
  }
  const type = header(request, 'content-type')?.toLowerCase();
  const report = type?.startsWith('message/imdn+xml') ?? false;
  if (type && !type.startsWith('text/plain') && !report)
    return { code: 415, reason: 'Unsupported Media Type' };
  const callId = header(request, 'call-id');
  const cseq = /^(\d+)\s+MESSAGE$/i.exec(header(request, 'cseq') ?? '');
  const toUser = uriUser(header(request, 'to')) ?? uriUser(request.uri);
  const fromUser = uriUser(header(request, 'from'));
  if (!callId || !cseq || !toUser || !fromUser) return { code: 400, reason: 'Bad Request' };
  if (request.body.length > MAX_BODY_BYTES)
    return { code: 413, reason: 'Request Entity Too Large' };
  const toNumber = normaliseNumber(toUser);
  const number = await deps.db
    .selectFrom('phoneNumbers')
    .select(['trunkId', 'agentProfileId'])
    .where('number', '=', toNumber)
    .executeTakeFirst();
  let trunkId = number?.trunkId ?? null;
  if (!trunkId) {
    // The edge admitted it for a trunk without numbers (it takes any called number).
    const edgeTrunk = header(request, 'x-edge-trunk');
    if (edgeTrunk && isUuid(edgeTrunk)) {
      const trunk = await deps.db
        .selectFrom('trunks')
        .select('id')
        .where('id', '=', edgeTrunk)
        .executeTakeFirst();
      trunkId = trunk?.id ?? null;
    }
  }
  if (!trunkId) return { code: 404, reason: 'Not Found' };
  const trunk = await deps.db
    .selectFrom('trunks')
    .select(['inboundUsername', 'inboundPasswordEnc'])
    .where('id', '=', trunkId)
    .executeTakeFirstOrThrow();
  if (trunk.inboundUsername && trunk.inboundPasswordEnc) {
    // A trunk with inbound credentials: the provider proves it, as LiveKit makes it for calls.
    const credentials = {
      username: trunk.inboundUsername,
      password: deps.box.decrypt(trunk.inboundPasswordEnc),
    };
    if (!digestValid(deps.edgeToken, header(request, 'authorization'), credentials))
      return { code: 401, reason: 'Unauthorized', extra: [challengeHeader(deps.edgeToken)] };
  }
  if (report) {
    // A delivery report for a text we sent: applied if it names one of this trunk's.
    const parsed = parseDeliveryReport(request.body.toString('utf8'));
    if (parsed && (await applyDeliveryReport(deps.db, trunkId, parsed))) deps.onReport?.();
    return { code: 200, reason: 'OK' };
  }
  const { duplicate } = await storeInbound(deps.db, {
    fromNumber: normaliseNumber(fromUser),
    toNumber,
    body: request.body.toString('utf8'),
    trunkId,
    sipCallId: callId.slice(0, 255),
    sipCseq: Number(cseq[1]),
    sourceAddress: (header(request, 'x-edge-source') ?? '').slice(0, 64),
    reply: Boolean(number?.agentProfileId),
  });
  smsMessages.inc({ direction: 'inbound', outcome: duplicate ? 'duplicate' : 'stored' });
  if (!duplicate) deps.onStored?.();
  return { code: 200, reason: 'OK' };
}

/**
 * The UDP listener the edge hands admitted MESSAGEs to (docs/sms.md). It answers 200 only once
 * the message is stored (the edge relays that answer to the provider); a database failure is a
 * 500, and the provider sends the message again.
 */
export function startSmsListener(
  deps: SmsListenerDeps,
  host: string,
  port: number,
): Promise<SmsListener> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const toTag = randomBytes(6).toString('hex');
  socket.on('message', (datagram, from) => {
    const request = parseRequest(datagram);
    if (!request || request.method === 'ACK') return;
    handle(deps, request)
      .catch((error: unknown): Verdict => {
        deps.logger.error({ err: error }, 'inbound sms not stored');
        return { code: 500, reason: 'Server Internal Error' };
      })
      .then((verdict) =>
        socket.send(
          buildResponse(request, verdict.code, verdict.reason, { toTag, extra: verdict.extra }),
          from.port,
          from.address,
        ),
      )
      .catch(() => undefined);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      socket.on('error', (error) => deps.logger.warn({ err: error }, 'sms listener socket error'));
      resolve({
        port: socket.address().port,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
