import { Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';
import type { TurnLatency } from '../contract/index.js';

/** What labels a call on a host: its mode, its agent profile (or `default`) and direction. */
export interface CallLabels {
  mode: string;
  profile: string;
  direction: string;
}

const activeCalls = new Gauge({
  name: 'voice_gateway_host_active_calls',
  help: 'Calls this call host runs now, by mode, agent profile and direction',
  labelNames: ['mode', 'profile', 'direction'],
  registers: [metricsRegistry],
});

const turnLatency = new Histogram({
  name: 'voice_gateway_turn_latency_seconds',
  help: "Per-turn latency as the caller hears it (part=total) and its parts (endpointing, stt, llm, tts); observed when the call's final report is sent",
  labelNames: ['mode', 'part'],
  buckets: [0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
  registers: [metricsRegistry],
});

const PARTS = {
  total: 'total_ms',
  endpointing: 'endpointing_ms',
  stt: 'stt_ms',
  llm: 'llm_ms',
  tts: 'tts_ms',
} as const satisfies Record<string, keyof TurnLatency>;

/** Counts a call as running until the returned function is called (once). */
export function callRunning(labels: CallLabels): () => void {
  activeCalls.inc({ ...labels });
  let done = false;
  return () => {
    if (done) return;
    done = true;
    activeCalls.dec({ ...labels });
  };
}

/** Observes each turn's total latency and those of its parts that were measured. */
export function observeTurns(mode: string, turns: readonly TurnLatency[]): void {
  for (const turn of turns) {
    for (const [part, key] of Object.entries(PARTS)) {
      const ms = turn[key];
      if (typeof ms === 'number') turnLatency.observe({ mode, part }, ms / 1000);
    }
  }
}
