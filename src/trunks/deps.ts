import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
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

/** What the trunk area is built from: the process's shared pieces. */
export interface TrunksFoundation {
  config: Pick<GatewayConfig, 'sipPublic' | 'edge' | 'agent' | 'destinations'>;
  db: Db;
  sip: GatewaySipClient;
  box: SecretBox;
  installation: string;
  logger: Logger;
}

/**
 * The trunk area's dependencies, the one builder the API process (its routes, the startup and
 * periodic reconciles) and the CLI's reconcile use.
 */
export function trunksDeps(f: TrunksFoundation, onChange?: () => void): TrunksDeps {
  return {
    db: f.db,
    sip: f.sip,
    box: f.box,
    installation: f.installation,
    logger: f.logger,
    sipPublic: f.config.sipPublic,
    edgeSourceAddress: f.config.edge.enabled ? f.config.edge.sourceAddress : undefined,
    defaultAgentName: f.config.agent.name,
    onChange,
    destinations: f.config.destinations as DestinationPolicy,
  };
}
