import type { Db } from '../db/index.js';
import { signedTransferUser, type EdgeRpc } from '../edge/index.js';
import { GatewayError, invalidInput } from '../errors/index.js';
import type { GatewaySipClient } from '../livekit/index.js';
import { lookupContacts } from './edge-sync.js';
import { OUTBOUND_FROM, sipUsersOutboundTrunk, type SipUsersLivekitDeps } from './livekit-sync.js';
import { OPEN_CALL_STATUSES } from '../calls/statuses.js';

/** POST /api/calls to sip:<username>: who is called, checked before anything is dialled. */
export interface SipUserDialer {
  /**
   * The user and LiveKit's trunk to the edge; 400 for no such user, 409 when it is blocked,
   * inactive, not registered, or at its call limit.
   */
  prepare(username: string): Promise<{
    username: string;
    agentProfileId: string | null;
    livekitOutboundId: string;
    fromUser: string;
  }>;
  /**
   * A transfer to sip:<username> (the API's or the agent's): the same checks, naming the field
   * `to`, then the Refer-To URI the caller's side dials: the edge with a signed user part, good
   * for one call within TRANSFER_URI_SECONDS, so that a trunk's provider (no SIP user) may
   * follow the REFER too.
   */
  transferUri(username: string): Promise<string>;
}

/** How long the Refer-To of a transfer to a SIP user is good for. */
export const TRANSFER_URI_SECONDS = 120;

export function sipUserDialer(
  deps: Omit<SipUsersLivekitDeps, 'sip'> & {
    sip: GatewaySipClient;
    rpc: EdgeRpc;
    db: Db;
    /** EDGE_RPC_SECRET: signs the Refer-To of transfers to SIP users. */
    edgeSecret: string;
  },
): SipUserDialer {
  const callable = async (username: string, field: string) => {
    const u = await deps.db
      .selectFrom('sipUsers')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    if (!u) {
      const message = `no SIP user ${JSON.stringify(username)} (see GET /api/sip-users)`;
      throw invalidInput(`${field}: ${message}`, [{ field, message }]);
    }
    if (u.isBlocked || !u.isActive)
      throw new GatewayError(
        u.isBlocked ? 'sip_user_blocked' : 'sip_user_inactive',
        `SIP user ${JSON.stringify(username)} is ${u.isBlocked ? 'blocked' : 'inactive'}: the edge would refuse the call`,
      );
    const contacts = await lookupContacts(deps.rpc, username).catch((error: unknown) => {
      throw new GatewayError(
        'edge_unavailable',
        `the SIP edge does not answer: ${error instanceof Error ? error.message : String(error)}`,
        {},
        { cause: error },
      );
    });
    if (contacts.length === 0)
      throw new GatewayError(
        'sip_user_not_registered',
        `SIP user ${JSON.stringify(username)} has no registration: no phone of it can ring${
          u.registrationExpires
            ? ` (its last registration expired at ${u.registrationExpires.toISOString()})`
            : ' (it never registered)'
        }`,
        { sip_status: 480 },
      );
    const { open } = await deps.db
      .selectFrom('calls')
      .select((eb) => eb.fn.countAll<number>().as('open'))
      .where('sipUser', '=', username)
      .where('status', 'in', [...OPEN_CALL_STATUSES])
      .executeTakeFirstOrThrow();
    if (Number(open) >= u.maxConcurrentCalls)
      throw new GatewayError(
        'sip_user_call_limit',
        `SIP user ${JSON.stringify(username)} already has ${open} calls (max_concurrent_calls ${u.maxConcurrentCalls})`,
      );
    return u;
  };
  return {
    async prepare(username) {
      const u = await callable(username, 'to_number');
      return {
        username,
        agentProfileId: u.agentProfileId,
        livekitOutboundId: await sipUsersOutboundTrunk(deps),
        fromUser: OUTBOUND_FROM,
      };
    },
    async transferUri(username) {
      await callable(username, 'to');
      const expiresAt = Math.floor(Date.now() / 1000) + TRANSFER_URI_SECONDS;
      return `sip:${signedTransferUser(deps.edgeSecret, username, expiresAt)}@${deps.edgeAddress}`;
    },
  };
}
