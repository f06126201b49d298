import { MemoryStore, type Options, type Store } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import type { Logger } from '../kernel/logger.js';

/**
 * rate-limit-redis reloads its Lua script only after a NOSCRIPT reply; a load that failed while
 * Redis was away would fail every later count. This one loads it again after any failure.
 */
class ReloadingRedisStore extends RedisStore {
  override async increment(key: string) {
    try {
      return await super.increment(key);
    } catch (error) {
      this.incrementScriptSha = this.loadIncrementScript(key);
      this.incrementScriptSha.catch(() => undefined);
      throw error;
    }
  }
  override async get(key: string) {
    try {
      return await super.get(key);
    } catch (error) {
      this.getScriptSha = this.loadGetScript(key);
      this.getScriptSha.catch(() => undefined);
      throw error;
    }
  }
}

/** Where counts live: Redis, shared by every API process, or this process's memory. */
export class CounterStores {
  readonly #redis: Redis | undefined;

  constructor(redisUrl: string | undefined, logger: Logger) {
    if (!redisUrl) return;
    // One retry: a count waits for a reconnect at most once, then the request goes through.
    this.#redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    this.#redis.on('error', (error: unknown) =>
      logger.warn({ err: error }, 'rate limit redis connection failed'),
    );
  }

  get shared(): boolean {
    return this.#redis !== undefined;
  }

  /** A store for express-rate-limit under its own key prefix ("vg:rl:<name>:"). */
  store(name: string): Store {
    const redis = this.#redis;
    if (!redis) return new MemoryStore();
    return new ReloadingRedisStore({
      prefix: `vg:rl:${name}:`,
      sendCommand: (command: string, ...args: string[]) =>
        redis.call(command, ...args) as Promise<never>,
    });
  }

  /** A store used directly (not by a middleware): initialised with its window here. */
  standalone(name: string, windowMs: number): Store {
    const store = this.store(name);
    const init = store.init?.({ windowMs } as Options);
    if (init instanceof Promise) init.catch(() => undefined);
    return store;
  }

  async close(): Promise<void> {
    await this.#redis?.quit().catch(() => undefined);
  }
}
