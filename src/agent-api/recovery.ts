import { ParticipantInfo_Kind } from '@livekit/protocol';
import { AgentDispatchClient, type RoomServiceClient, type WebhookEvent } from 'livekit-server-sdk';
import { Counter } from 'prom-client';
import type { Logger } from '../kernel/logger.js';
import { metricsRegistry } from '../kernel/metrics.js';
import type { Db } from '../db/index.js';
import { OPEN_CALL_STATUSES } from '../calls/statuses.js';

const MAX_RECOVERIES_PER_CALL = 2;

const recoveries = new Counter({
  name: 'voice_gateway_agent_recoveries_total',
  help: 'Agents sent to calls whose agent left while the caller was still on the line',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/**
 * Self-hosted LiveKit does not restart a job whose host died. When an agent leaves a room
 * while the caller is still there and the agent did not end the call, this sends a new agent
 * (to another host), which reads the transcript so far, says "Sorry, where were we?" and goes
 * on with the call. The call hosts' supervisor removes a dead host's agents at once, so this
 * runs within a second or two instead of after LiveKit's reconnect wait.
 */
export class AgentRecovery {
  private readonly dispatch: AgentDispatchClient;

  constructor(
    private readonly deps: {
      db: Db;
      rooms: RoomServiceClient;
      livekit: { url: string; apiKey: string; apiSecret: string };
      agentName: string;
      logger: Logger;
    },
  ) {
    this.dispatch = new AgentDispatchClient(
      deps.livekit.url,
      deps.livekit.apiKey,
      deps.livekit.apiSecret,
    );
  }

  /** Called with each stored LiveKit webhook event, after it was applied. */
  consider(event: WebhookEvent): void {
    const p = event.participant;
    const room = event.room?.name;
    if (event.event !== 'participant_left' || p?.kind !== ParticipantInfo_Kind.AGENT || !room) {
      return;
    }
    this.recover(room).catch((error: unknown) => {
      recoveries.inc({ outcome: 'error' });
      this.deps.logger.error({ err: error, room }, 'agent recovery failed');
    });
  }

  private async recover(room: string): Promise<void> {
    const call = await this.deps.db
      .selectFrom('calls')
      .select(['id', 'agentProfileId'])
      .where('roomName', '=', room)
      .where('status', 'in', [...OPEN_CALL_STATUSES])
      .orderBy('startedAt', 'desc')
      .executeTakeFirst();
    // The agent ended the call itself (its report closed the record), or the caller left first.
    if (!call) return;
    const participants = await this.deps.rooms.listParticipants(room);
    const callerThere = participants.some(
      (p) => p.kind === ParticipantInfo_Kind.SIP || p.kind === ParticipantInfo_Kind.STANDARD,
    );
    const agentThere = participants.some((p) => p.kind === ParticipantInfo_Kind.AGENT);
    if (!callerThere || agentThere) return;
    const earlier = await this.deps.db
      .selectFrom('callEvents')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('callId', '=', call.id)
      .where('type', '=', 'agent_recovery')
      .executeTakeFirstOrThrow();
    if (Number(earlier.n) >= MAX_RECOVERIES_PER_CALL) {
      recoveries.inc({ outcome: 'gave_up' });
      this.deps.logger.error({ room }, 'agent lost again; no more recoveries for this call');
      await this.deps.rooms.deleteRoom(room);
      return;
    }
    await this.dispatch.createDispatch(room, this.deps.agentName, {
      metadata: JSON.stringify({
        agent_profile_id: call.agentProfileId,
        call_id: call.id,
        recovery: true,
      }),
    });
    await this.deps.db
      .insertInto('callEvents')
      .values({ callId: call.id, at: new Date(), type: 'agent_recovery', data: '{}' })
      .execute();
    recoveries.inc({ outcome: 'dispatched' });
    this.deps.logger.warn({ room }, 'agent left a live call; a new agent was dispatched');
  }
}
