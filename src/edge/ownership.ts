import pg from 'pg';

/** First key of the two-key advisory locks: "vgre" (voice-gateway registration edge). */
const LOCK_CLASS = 0x76677265;

/**
 * Which trunks this gateway instance registers. With PostgreSQL, each trunk is an advisory lock
 * held on one dedicated session: the instance that holds it registers the trunk, and when that
 * instance dies its session ends, the lock is released and another instance takes the trunk at
 * its next poll. The embedded database serves one instance only, so it owns every trunk.
 */
export interface Ownership {
  /** The subset of `trunkIds` this instance holds (taking free locks, releasing the rest). */
  claim(trunkIds: string[]): Promise<Set<string>>;
  close(): Promise<void>;
}

export function soleOwnership(): Ownership {
  return { claim: async (ids) => new Set(ids), close: async () => undefined };
}

export function advisoryLockOwnership(databaseUrl: string): Ownership {
  let client: pg.Client | undefined;
  const held = new Set<string>();
  const connect = async () => {
    if (client) return client;
    const c = new pg.Client({ connectionString: databaseUrl });
    c.on('error', () => {
      // The session is gone, and with it every lock: stop registering until reconnected.
      held.clear();
      if (client === c) client = undefined;
    });
    await c.connect();
    client = c;
    return c;
  };
  return {
    async claim(trunkIds) {
      let c: pg.Client;
      try {
        c = await connect();
      } catch {
        held.clear();
        return new Set();
      }
      const wanted = new Set(trunkIds);
      for (const id of [...held]) {
        if (wanted.has(id)) continue;
        await c.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id]);
        held.delete(id);
      }
      for (const id of trunkIds) {
        if (held.has(id)) continue;
        const { rows } = await c.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
          [LOCK_CLASS, id],
        );
        if (rows[0]?.ok) held.add(id);
      }
      return new Set(held);
    },
    async close() {
      held.clear();
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
