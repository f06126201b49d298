import type { Db, SecretBox } from '../db/index.js';
import type { EdgeRpc } from '../edge/index.js';

export interface SipUsersDeps {
  db: Db;
  box: SecretBox;
  /** Undefined when the edge is not enabled: users are stored, nobody can register yet. */
  rpc: EdgeRpc | undefined;
  /** SIP_USERS_REALM, SIP_USERS_DOMAIN, SIP_USERS_REGISTER_EXPIRES. */
  realm: string;
  domain: string;
  registerExpires: number;
  /** Where phones send REGISTER and INVITE (the edge's public address). */
  proxy: { host: string; port: number };
  lockSeconds: number;
  /** Makes LiveKit hold the SIP users' trunks and rules (src/sipusers/livekit-sync.ts). */
  syncLivekit?: () => Promise<void>;
}
