import { Queue, Worker } from 'bullmq';
import { every } from '../../kernel/periodic.js';
import { attemptDelivery, type AttemptDeps } from './attempt.js';

export interface DeliveryWorker {
  /** Looks for due deliveries now instead of at the next tick. */
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

/**
 * The delivery rows are the truth: a sweeper puts every due one on a BullMQ queue with one job
 * id per due time (so several API processes never queue the same attempt twice), and BullMQ
 * gives each job to one worker at a time. An attempt first leases its delivery (moves the due
 * time ahead, attempt.ts), so one that dies unrecorded is queued again when the lease ends.
 */
export function startDeliveryWorker(
  deps: AttemptDeps,
  redisUrl: string,
  installationId: string,
  sweepMs = 500,
): DeliveryWorker {
  const connection = redisConnection(redisUrl);
  // One queue per database (its installation row, whatever URL reaches it): processes sharing a
  // database share the queue, and gateways with different databases on one Redis never take
  // each other's jobs.
  const name = `voice-gateway-webhooks-${installationId}`;
  const queue = new Queue(name, { connection });
  const worker = new Worker(
    name,
    async (job) => {
      const data = job.data as { deliveryId: string; dueAt?: number };
      await attemptDelivery(
        deps,
        data.deliveryId,
        data.dueAt === undefined ? undefined : new Date(data.dueAt),
      );
    },
    {
      connection,
      concurrency: 8,
      lockDuration: deps.settings.jobLockMs,
      stalledInterval: deps.settings.jobLockMs,
      maxStalledCount: 100,
    },
  );
  worker.on('failed', (_job, error) =>
    deps.logger.warn({ err: error }, 'webhook delivery job failed'),
  );
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const due = await deps.db
        .selectFrom('webhookDeliveries')
        .select(['id', 'attempts', 'nextAttemptAt'])
        .where('status', '=', 'pending')
        .where('nextAttemptAt', '<=', new Date())
        .orderBy('nextAttemptAt')
        .limit(200)
        .execute();
      if (due.length > 0) {
        await queue.addBulk(
          due.map((d) => ({
            name: 'deliver',
            data: { deliveryId: d.id, dueAt: d.nextAttemptAt!.getTime() },
            opts: {
              // One job per due time: an attempt moves the due time, so its retry, or the
              // attempt after a lease that ran out, is a new job.
              jobId: `${d.id}-${d.nextAttemptAt!.getTime()}`,
              removeOnComplete: { age: 86_400 },
              // A job that failed (database gone before the attempt was recorded) frees its id,
              // so the sweep queues the delivery again once it is due.
              removeOnFail: true,
            },
          })),
        );
      }
    } finally {
      sweeping = false;
    }
  };
  const stop = every(sweepMs / 1000, sweep, {
    logger: deps.logger,
    message: 'webhook sweep failed',
  });
  return {
    kick: () => void sweep().catch(() => undefined),
    async close() {
      stop();
      await worker.close();
      await queue.close();
    },
  };
}
