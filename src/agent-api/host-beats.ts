import { Redis } from 'ioredis';
import { HOST_BEAT_MS, type HostBeat } from '../contract/index.js';
import type { Logger } from '../kernel/logger.js';

/** A host silent for three beats is gone. */
const HOST_STALE_MS = 3 * HOST_BEAT_MS;
const KEY_PREFIX = 'vg:callhost:';

export interface SeenHost extends HostBeat {
  seen_at: string;
}

/**
 * The call hosts' last beats. In Redis when the API has one (every API process sees every
 * host, and a host gone stale simply expires), else in this process's memory. Keyed by the
 * installation: two gateways sharing a Redis do not list each other's hosts.
 */
export class HostBeats {
  readonly #redis: Redis | undefined;
  readonly #memory = new Map<string, SeenHost>();
  readonly #prefix: string;

  constructor(redisUrl: string | undefined, logger: Logger, installation: string) {
    this.#prefix = `${KEY_PREFIX}${installation}:`;
    if (!redisUrl) return;
    this.#redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.#redis.on('error', (error: unknown) =>
      logger.warn({ err: error }, 'host beats redis connection failed'),
    );
  }

  async record(beat: HostBeat): Promise<void> {
    const seen: SeenHost = { ...beat, seen_at: new Date().toISOString() };
    if (!this.#redis) {
      this.#memory.set(beat.host_id, seen);
      return;
    }
    await this.#redis.set(this.#prefix + beat.host_id, JSON.stringify(seen), 'PX', HOST_STALE_MS);
  }

  /** The hosts that beat within the last three beats, by id. */
  async list(): Promise<SeenHost[]> {
    const fresh = (h: SeenHost) => Date.now() - Date.parse(h.seen_at) < HOST_STALE_MS;
    if (!this.#redis) {
      for (const [id, host] of this.#memory) if (!fresh(host)) this.#memory.delete(id);
      return [...this.#memory.values()].sort((a, b) => a.host_id.localeCompare(b.host_id));
    }
    const keys: string[] = [];
    let cursor = '0';
    // Bounded: a few hundred hosts at most, 100 keys a round.
    for (let round = 0; round < 100; round++) {
      const [next, batch] = await this.#redis.scan(
        cursor,
        'MATCH',
        `${this.#prefix}*`,
        'COUNT',
        100,
      );
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    if (keys.length === 0) return [];
    const values = await this.#redis.mget(...keys);
    return values
      .flatMap((v) => (v ? [JSON.parse(v) as SeenHost] : []))
      .filter(fresh)
      .sort((a, b) => a.host_id.localeCompare(b.host_id));
  }

  async close(): Promise<void> {
    if (this.#redis && this.#redis.status !== 'wait')
      await this.#redis.quit().catch(() => undefined);
    this.#redis?.disconnect();
  }
}
