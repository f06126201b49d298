import type { Logger } from '../config/index.js';
import type { Db, SecretBox } from '../db/index.js';
import type { GatewaySipClient } from '../livekit/index.js';

export interface SyncDeps {
  db: Db;
  sip: GatewaySipClient;
  box: SecretBox;
}

export interface TrunksDeps extends SyncDeps {
  logger: Logger;
  /** Where providers send calls: the public address of LiveKit SIP (or the SIP edge). */
  sipPublic: { host: string; port: number };
}
