import { voice, type metrics } from '@livekit/agents';
import type { TurnLatency } from '../contract/index.js';

export type { TurnLatency } from '../contract/index.js';

type Parts = Pick<TurnLatency, 'endpointing_ms' | 'stt_ms' | 'llm_ms' | 'tts_ms'>;
const noParts = (): Parts => ({ endpointing_ms: null, stt_ms: null, llm_ms: null, tts_ms: null });

/**
 * Per-turn latency as the caller hears it: from the end of the caller's speech to the agent's
 * first audio. The VAD reports the end of speech only after `vadSilenceMs` of silence, so that
 * much is added back. The parts come from the session's metrics of the same turn; the LLM's and
 * the TTS's arrive when their streams finish, after the first audio, so a turn takes them until
 * the caller's next turn begins.
 */
export class TurnLatencyRecorder {
  readonly turns: TurnLatency[] = [];
  private speechEndedAt: number | undefined;
  private parts: Parts = noParts();

  constructor(
    session: voice.AgentSession,
    private readonly vadSilenceMs: number,
  ) {
    session.on(voice.AgentSessionEventTypes.UserStateChanged, (ev) => {
      if (ev.oldState === 'speaking' && ev.newState === 'listening') {
        // Not a reset of the parts: a preemptive LLM request may have finished already.
        this.speechEndedAt = ev.createdAt - this.vadSilenceMs;
      }
      if (ev.newState === 'speaking') {
        this.speechEndedAt = undefined;
        this.parts = noParts();
      }
    });
    session.on(voice.AgentSessionEventTypes.MetricsCollected, (ev) => this.onMetrics(ev.metrics));
    session.on(voice.AgentSessionEventTypes.AgentStateChanged, (ev) => {
      if (ev.newState !== 'speaking' || this.speechEndedAt === undefined) return;
      const turn: TurnLatency = {
        at: new Date(ev.createdAt).toISOString(),
        total_ms: Math.max(0, Math.round(ev.createdAt - this.speechEndedAt)),
        ...this.parts,
      };
      this.turns.push(turn);
      // Later metrics of this turn land in the recorded turn.
      this.parts = turn;
      this.speechEndedAt = undefined;
    });
  }

  /** Marks the caller's turn as ended at `at` (a DTMF key press is a complete turn). */
  turnEndedAt(at: number): void {
    this.speechEndedAt = at;
    this.parts = noParts();
  }

  private onMetrics(m: metrics.AgentMetrics): void {
    const round = (n: number) => Math.round(n);
    if (m.type === 'eou_metrics') {
      this.parts.endpointing_ms = round(m.endOfUtteranceDelayMs);
      this.parts.stt_ms = round(m.transcriptionDelayMs);
    } else if (m.type === 'llm_metrics' && this.parts.llm_ms === null) {
      this.parts.llm_ms = round(m.ttftMs);
    } else if (m.type === 'tts_metrics' && this.parts.tts_ms === null) {
      this.parts.tts_ms = round(m.ttfbMs);
    }
  }
}
