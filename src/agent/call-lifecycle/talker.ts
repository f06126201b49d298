import type { TurnLatency } from '../../contract/index.js';

/**
 * What a mode plugs into the call lifecycle: the part of the call that talks with the caller
 * (the host's cached prompts, an agents-library session, or a customer's platform). Holding
 * it is a HoldTarget, given to the lifecycle once the talker can be held.
 */
export interface CallTalker {
  /** Speaks the profile's apology before a failed call hangs up; rejects when it could not. */
  apologize(text: string): Promise<void>;
  /** Stops (true) and resumes (false) listening while the caller waits in the queue. */
  pauseListening?(paused: boolean): void;
  /** What ends with the call, before its final report (a bridge's socket and capture). */
  close?(): Promise<void>;
  /** The turns' latency for the final report, in the modes that measure it. */
  latency?(): TurnLatency[];
}
