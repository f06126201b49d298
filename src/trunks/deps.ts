import type { Logger } from '../config/index.js';
import type { Db, SecretBox } from '../db/index.js';
import type { GatewaySipClient } from '../livekit/index.js';

export interface SyncDeps {
  db: Db;
  sip: GatewaySipClient;
  box: SecretBox;
  /** With the SIP edge on: the address LiveKit sees its INVITEs from (registering trunks). */
  edgeSourceAddress?: string;
}

export interface TrunksDeps extends SyncDeps {
  logger: Logger;
  /** Where providers send calls: the public address of LiveKit SIP (or the SIP edge). */
  sipPublic: { host: string; port: number };
  /** The agent a new dispatch rule dispatches when it names none (AGENT_NAME). */
  defaultAgentName?: string;
  /** Called after a change to trunks or numbers succeeded (the SIP edge re-reads admission). */
  onChange?: () => void;
}
