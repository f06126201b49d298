import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import type { Db, SecretBox } from '../db/index.js';
import type { LivekitClients } from '../livekit/index.js';
import { recordingDeps, type RecordingDeps } from '../recordings/index.js';
import { syncSipUsersLivekit } from '../sipusers/index.js';
import { trunksDeps, type TrunksDeps } from '../trunks/index.js';
import { loadCallWebhookSecret } from '../webhooks/outbound/index.js';

/** What every area is built from: the process's configuration, database, LiveKit and keys. */
export interface Foundation {
  config: GatewayConfig;
  db: Db;
  livekit: LivekitClients;
  box: SecretBox;
  logger: Logger;
  /** This installation's id, marking its LiveKit objects (installationOf in src/db). */
  installation: string;
}

/**
 * The areas' dependencies that more than one part of the API process uses (the public app, the
 * internal app, the workers and loops), built once here and handed down.
 */
export interface AreaDeps {
  /** The trunk routes, the startup reconcile and the periodic one. */
  trunks: TrunksDeps;
  /** The recording routes and links, the agent's internal routes and the sweep. */
  recordings: RecordingDeps;
  /** Signs the call webhooks: the delivery worker and the IVR's (CALL_WEBHOOK_SECRET or a file). */
  callWebhookSecret: string;
  /** Pushes the SIP users' objects to LiveKit (with the SIP edge on): its routes and its edge task. */
  syncSipUsers: () => Promise<void>;
}

/**
 * Builds each shared area dependency once. `trunksChanged`, when the SIP edge is on, tells the
 * edge that trunks or numbers changed (it is called only after the edge has started).
 */
export function buildAreaDeps(f: Foundation, trunksChanged?: () => void): AreaDeps {
  const { config } = f;
  return {
    trunks: trunksDeps({ ...f, sip: f.livekit.sip }, trunksChanged),
    recordings: recordingDeps(config, f.db, f.box, f.logger),
    callWebhookSecret: config.webhooksOut.callSecret ?? loadCallWebhookSecret(config.dataDir),
    syncSipUsers: () =>
      syncSipUsersLivekit({
        db: f.db,
        sip: f.livekit.sip,
        installation: f.installation,
        edgeSourceAddress: config.edge.sourceAddress,
        agentName: config.agent.name,
        edgeAddress: config.edge.contactAddress,
      }),
  };
}
