import type { Logger } from '../kernel/logger.js';
import type { Db } from '../db/index.js';
import {
  checkDestination,
  effectivePolicy,
  type DestinationPolicy,
  type TrunkDestinationPolicy,
} from '../destinations/index.js';
import { computeReply, parseProfileSettings, ReplyError } from './replies.js';
import { conversation, queueOutbound } from './store.js';

export interface ReplyDeps {
  db: Db;
  logger: Logger;
  historyMessages: number;
  env: Record<string, string | undefined>;
  /** The global destination policy: a reply is an outbound text like any other. */
  destinations: DestinationPolicy;
  /** Called once a reply was queued (to send it now). */
  onQueued?: () => void;
}

const LEASE_MS = 60_000;
/** Delays before each retry of a reply the agent could not give (LLM or platform down). */
const RETRY_MS = [5_000, 30_000, 120_000];

async function finish(db: Db, id: string, state: string): Promise<void> {
  await db
    .updateTable('smsMessages')
    .set({ replyState: state, nextAttemptAt: null, updatedAt: new Date() })
    .where('id', '=', id)
    .execute();
}

/**
 * The number's agent answers one received message (docs/sms.md). Leased like a send: a second
 * job for the same due time does nothing. The reply is queued as an outbound message in the same
 * transaction that marks the inbound one answered, so it is sent once whatever crashes.
 */
export async function attemptReply(deps: ReplyDeps, id: string, dueAt: Date): Promise<string> {
  const row = await deps.db
    .updateTable('smsMessages')
    .set({ nextAttemptAt: new Date(Date.now() + LEASE_MS) })
    .where('id', '=', id)
    .where('replyState', '=', 'pending')
    .where('nextAttemptAt', '=', dueAt)
    .returningAll()
    .executeTakeFirst();
  if (!row) return 'skipped';
  const profile = await deps.db
    .selectFrom('phoneNumbers')
    .innerJoin('agentProfiles', 'agentProfiles.id', 'phoneNumbers.agentProfileId')
    .select(['agentProfiles.settings'])
    .where('phoneNumbers.number', '=', row.toNumber)
    .executeTakeFirst();
  const settings = profile && parseProfileSettings(profile.settings);
  // An alphanumeric sender ("BANK") cannot be texted back.
  if (!settings || !settings.sms.replies || !row.trunkId || !/^\+\d{6,15}$/.test(row.fromNumber)) {
    await finish(deps.db, id, 'off');
    return 'off';
  }
  // SMS pumping: a premium-rate or foreign sender must not earn replies the policy forbids.
  const trunk = await deps.db
    .selectFrom('trunks')
    .select('destinationPolicy')
    .where('id', '=', row.trunkId)
    .executeTakeFirst();
  const policy = effectivePolicy(
    deps.destinations,
    trunk?.destinationPolicy as TrunkDestinationPolicy | null | undefined,
  );
  const verdict = checkDestination({ kind: 'number', e164: row.fromNumber }, policy);
  if (!verdict.allowed) {
    deps.logger.warn(
      { sms_id: id, rule: verdict.rule },
      'sms reply refused by the destination policy',
    );
    await finish(deps.db, id, 'refused');
    return 'refused';
  }
  let reply: string | undefined;
  try {
    const history = await conversation(
      deps.db,
      row.toNumber,
      row.fromNumber,
      row.createdAt,
      deps.historyMessages,
    );
    reply = await computeReply({ message: row, settings, history, env: deps.env });
  } catch (error) {
    const retry = error instanceof ReplyError ? error.retryable : true;
    const delay = RETRY_MS[row.attempts];
    deps.logger.warn(
      { err: error, sms_id: id, retry: retry && delay !== undefined },
      'sms reply not computed',
    );
    if (retry && delay !== undefined) {
      await deps.db
        .updateTable('smsMessages')
        .set({ attempts: row.attempts + 1, nextAttemptAt: new Date(Date.now() + delay) })
        .where('id', '=', id)
        .execute();
      return 'retry';
    }
    await finish(deps.db, id, 'failed');
    return 'failed';
  }
  if (!reply) {
    await finish(deps.db, id, 'done');
    return 'done';
  }
  await deps.db.transaction().execute(async (tx) => {
    await queueOutbound(tx, {
      fromNumber: row.toNumber,
      toNumber: row.fromNumber,
      body: reply,
      trunkId: row.trunkId!,
      inReplyToId: row.id,
    });
    await finish(tx, id, 'done');
  });
  deps.onQueued?.();
  return 'done';
}
