import { Queue, Worker } from 'bullmq';
import { every } from '../kernel/periodic.js';
import type { Logger } from '../kernel/logger.js';
import type { Db } from '../db/index.js';
import { attemptReply, type ReplyDeps } from './reply-attempt.js';
import { attemptSend, type SendDeps } from './send-attempt.js';

export interface SmsWorker {
  /** Looks for due messages now instead of at the next tick. */
  kick(): void;
  close(): Promise<void>;
}

function redisConnection(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password || undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    maxRetriesPerRequest: null,
  };
}

type Job = { kind: 'send' | 'reply'; id: string; dueAt: number };

/**
 * The message rows are the queue's truth, as webhook deliveries are (src/webhooks/outbound):
 * a sweep puts every due send and reply on a BullMQ queue, one job id per due time, so several
 * API processes never queue the same attempt twice; each attempt leases its row first. A
 * process killed mid-attempt leaves the row due again when the lease ends.
 */
export function startSmsWorker(
  deps: { db: Db; logger: Logger; send: SendDeps; reply: Omit<ReplyDeps, 'onQueued'> },
  redisUrl: string,
  installationId: string,
  options: { sweepMs?: number; concurrency?: number } = {},
): SmsWorker {
  const connection = redisConnection(redisUrl);
  const name = `voice-gateway-sms-${installationId}`;
  const queue = new Queue(name, { connection });
  let kick = () => undefined as void;
  const reply: ReplyDeps = { ...deps.reply, onQueued: () => kick() };
  const worker = new Worker(
    name,
    async (job) => {
      const data = job.data as Job;
      if (data.kind === 'send') await attemptSend(deps.send, data.id, new Date(data.dueAt));
      else await attemptReply(reply, data.id, new Date(data.dueAt));
    },
    { connection, concurrency: options.concurrency ?? 16 },
  );
  worker.on('failed', (_job, error) => deps.logger.warn({ err: error }, 'sms job failed'));
  // Job ids this process queued lately: a backlog is not re-added to Redis at every sweep (the
  // job ids would dedupe it there, one round trip each). Forgotten after RECENT_MS, so a job
  // lost with Redis is queued again then.
  const recent = new Map<string, number>();
  const RECENT_MS = 60_000;
  let sweeping = false;
  let again = false;
  const sweep = async (): Promise<void> => {
    if (sweeping) {
      again = true;
      return;
    }
    sweeping = true;
    try {
      const now = new Date();
      const sends = await deps.db
        .selectFrom('smsMessages')
        .select(['id', 'nextAttemptAt'])
        .where('status', '=', 'queued')
        .where('nextAttemptAt', '<=', now)
        .orderBy('nextAttemptAt')
        .limit(500)
        .execute();
      const replies = await deps.db
        .selectFrom('smsMessages')
        .select(['id', 'nextAttemptAt'])
        .where('replyState', '=', 'pending')
        .where('nextAttemptAt', '<=', now)
        .orderBy('nextAttemptAt')
        .limit(200)
        .execute();
      const at = Date.now();
      for (const [jobId, added] of recent) if (at - added > RECENT_MS) recent.delete(jobId);
      const jobs = [
        ...sends.map((r) => ({ kind: 'send' as const, r })),
        ...replies.map((r) => ({ kind: 'reply' as const, r })),
      ]
        .map(({ kind, r }) => {
          const dueAt = r.nextAttemptAt!.getTime();
          return { kind, id: r.id, dueAt, jobId: `${kind}-${r.id}-${dueAt}` };
        })
        .filter((j) => !recent.has(j.jobId));
      if (jobs.length > 0) {
        await queue.addBulk(
          jobs.map(({ kind, id, dueAt, jobId }) => ({
            name: kind,
            data: { kind, id, dueAt } satisfies Job,
            opts: { jobId, removeOnComplete: { age: 3600 }, removeOnFail: true },
          })),
        );
        for (const j of jobs) recent.set(j.jobId, at);
      }
    } finally {
      sweeping = false;
    }
    if (again) {
      again = false;
      await sweep();
    }
  };
  kick = () => void sweep().catch(() => undefined);
  const stop = every((options.sweepMs ?? 500) / 1000, sweep, {
    logger: deps.logger,
    message: 'sms sweep failed',
  });
  return {
    kick,
    async close() {
      stop();
      await worker.close();
      await queue.close();
    },
  };
}
