import type { Logger } from '../config/index.js';
import type { Db, SecretBox } from '../db/index.js';
import type { DestinationPolicy } from '../destinations/index.js';
import type { GatewaySipClient } from '../livekit/index.js';

export interface SyncDeps {
  db: Db;
  sip: GatewaySipClient;
  box: SecretBox;
  /**
   * This installation's id (GATEWAY_INSTALLATION_ID, else the database's installation row): it
   * marks every LiveKit object we make, and a reconcile touches only objects carrying it.
   */
  installation: string;
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
  /** The global destination policy: a number's forwarding target must pass it. */
  destinations?: DestinationPolicy;
}
