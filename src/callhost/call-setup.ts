import { RoomEvent, type Participant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';

/** The steps of a call's setup the host can see, in the order they happen. */
export type SetupStep = 'connected' | 'published' | 'subscribed' | 'active';

/**
 * How long each step of a call's setup took, in ms from the job's assignment: the room joined,
 * the agent's voice published, LiveKit SIP subscribed to it (for an inbound call it sends the
 * 200 OK right then), the call active (LiveKit SIP saw the caller's first media). Logged once
 * the call is active, so an operator can see where the time before the greeting went.
 */
export class CallSetupTimeline {
  readonly #assignedAt = performance.now();
  readonly #ms: Partial<Record<SetupStep, number>> = {};
  #logged = false;

  constructor(private readonly log: Logger) {}

  mark(step: SetupStep): void {
    this.#ms[step] ??= Math.round(performance.now() - this.#assignedAt);
    if (step === 'active' && !this.#logged) {
      this.#logged = true;
      this.log.info({ setupMs: { ...this.#ms } }, 'call setup timings');
    }
  }

  /** Marks the steps the room reports by itself (published, subscribed, active). */
  watch(room: Room): void {
    room.once(RoomEvent.LocalTrackPublished, () => this.mark('published'));
    room.once(RoomEvent.LocalTrackSubscribed, () => this.mark('subscribed'));
    const onAttributes = (_changed: Record<string, string>, participant: Participant) => {
      if (participant.attributes['sip.callStatus'] !== 'active') return;
      this.mark('active');
      room.off(RoomEvent.ParticipantAttributesChanged, onAttributes);
    };
    room.on(RoomEvent.ParticipantAttributesChanged, onAttributes);
  }
}
