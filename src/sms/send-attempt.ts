import type { Logger } from '../kernel/logger.js';
import type { Db, SecretBox } from '../db/index.js';
import { imdnHeaders } from './delivery-report.js';
import { smsMessages, smsSendSeconds } from './metrics.js';
import { splitSegments } from './segments.js';
import { sendMessage, type MessageOutcome, type Relay } from './sip-message.js';
import { publishSms, type SmsMessage } from './store.js';

export interface SendDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  relay: Relay;
  settings: { sendTimeoutMs: number; retryScheduleMs: number[] };
  kickWebhooks?: () => void;
}

/** 5xx, 408 (and no answer, reported as 408) are worth another try; other refusals are final. */
export function retryable(code: number): boolean {
  return code === 408 || (code >= 500 && code < 600);
}

/** How long an attempt holds its message: every part, each maybe challenged, and slack. */
function leaseMs(deps: SendDeps, parts: number): number {
  return deps.settings.sendTimeoutMs * 2 * parts + 30_000;
}

function uriHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

type Trunk = {
  proxyAddress: string | null;
  proxyPort: number | null;
  transport: string;
  username: string | null;
  passwordEnc: string | null;
  fromHost: string | null;
  numberFormat: string;
  smsSplit: boolean;
  status: string;
  supportsOutbound: boolean;
};

function wire(number: string, format: string): string {
  return format === 'e164_without_plus' ? number.replace(/^\+/, '') : number;
}

async function loadTrunk(db: Db, id: string | null): Promise<Trunk | undefined> {
  if (!id) return undefined;
  return db
    .selectFrom('trunks')
    .select([
      'proxyAddress',
      'proxyPort',
      'transport',
      'username',
      'passwordEnc',
      'fromHost',
      'numberFormat',
      'smsSplit',
      'status',
      'supportsOutbound',
    ])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Records the end of one attempt (and the webhook it causes) in one transaction. */
async function record(
  deps: SendDeps,
  row: SmsMessage,
  outcome: MessageOutcome,
  partsSent: number,
  done: boolean,
): Promise<'sent' | 'retry' | 'failed'> {
  const attempts = row.attempts + 1;
  const delay = deps.settings.retryScheduleMs[attempts - 1];
  const verdict = done
    ? 'sent'
    : retryable(outcome.code) && delay !== undefined
      ? 'retry'
      : 'failed';
  await deps.db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable('smsMessages')
      .set({
        attempts,
        partsSent,
        lastStatus: outcome.code,
        lastReason: outcome.reason,
        updatedAt: new Date(),
        status: verdict === 'retry' ? 'queued' : verdict,
        nextAttemptAt:
          verdict === 'retry' ? new Date(Date.now() + delay! * (0.8 + Math.random() * 0.4)) : null,
        ...(verdict === 'sent' ? { sentAt: new Date() } : {}),
      })
      .where('id', '=', row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (verdict !== 'retry')
      await publishSms(tx, verdict === 'sent' ? 'sms.sent' : 'sms.failed', updated);
  });
  if (verdict !== 'retry') deps.kickWebhooks?.();
  smsMessages.inc({ direction: 'outbound', outcome: verdict });
  if (verdict === 'sent') smsSendSeconds.observe((Date.now() - row.createdAt.getTime()) / 1000);
  return verdict;
}

/**
 * One attempt at one queued message. It first moves the due time a lease ahead (only if it is
 * still `dueAt`), so a second job for the same due time does nothing, and an attempt that dies
 * before recording leaves the message due again when the lease ends.
 */
export async function attemptSend(
  deps: SendDeps,
  id: string,
  dueAt: Date,
): Promise<'sent' | 'retry' | 'failed' | 'skipped'> {
  const row = await deps.db
    .updateTable('smsMessages')
    .set({ nextAttemptAt: new Date(Date.now() + leaseMs(deps, 10)) })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .where('direction', '=', 'outbound')
    .where('nextAttemptAt', '=', dueAt)
    .returningAll()
    .executeTakeFirst();
  if (!row) return 'skipped';
  const trunk = await loadTrunk(deps.db, row.trunkId);
  if (!trunk || !trunk.proxyAddress || trunk.status !== 'active' || !trunk.supportsOutbound) {
    return record(
      deps,
      row,
      { code: 0, reason: 'the trunk is gone, inactive or has no proxy_address' },
      row.partsSent,
      false,
    );
  }
  const host = uriHost(trunk.proxyAddress);
  const port = trunk.proxyPort ?? 5060;
  const to = wire(row.toNumber, trunk.numberFormat);
  const from = wire(row.fromNumber, trunk.numberFormat);
  const parts = trunk.smsSplit ? splitSegments(row.body) : [row.body];
  const credentials =
    trunk.username && trunk.passwordEnc
      ? { username: trunk.username, password: deps.box.decrypt(trunk.passwordEnc) }
      : undefined;
  let partsSent = row.partsSent;
  let outcome: MessageOutcome = { code: 200, reason: 'OK' };
  for (let part = partsSent; part < parts.length; part++) {
    outcome = await sendMessage(
      {
        requestUri: `sip:${to}@${host}:${port}${trunk.transport === 'tcp' ? ';transport=tcp' : ''}`,
        from: `sip:${from}@${trunk.fromHost ?? host}`,
        to: `sip:${to}@${host}`,
        body: parts[part]!,
        callId: `${row.id}${parts.length > 1 ? `.${part + 1}` : ''}@voice-gateway`,
        credentials,
        // One report for the whole text: asked for on its last part.
        headers: part === parts.length - 1 ? imdnHeaders(row.id) : [],
      },
      deps.relay,
      deps.settings.sendTimeoutMs,
    ).catch((error: unknown) => {
      deps.logger.warn({ err: error, sms_id: row.id }, 'sms send failed locally');
      return { code: 408, reason: 'Not sent (local error)' };
    });
    if (outcome.code < 200 || outcome.code >= 300) break;
    partsSent = part + 1;
  }
  return record(deps, row, outcome, partsSent, partsSent >= parts.length);
}
