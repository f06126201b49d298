import { agentCallSetup, agentCapacity, printCallSetup, routeBenchCalls } from './agent-calls.js';
import { agentFrameCost, printFrameCost } from './agent-frame-cost.js';
import type { BenchEnv } from './setup.js';

/** Media ports for LiveKit and LiveKit SIP: 100 calls take about 4 and 1 each. */
export const AGENT_MEDIA_PORTS = 500;

function levels(): number[] {
  const raw = process.env.BENCH_AGENT_LEVELS ?? '10,25,50,75,100';
  const parsed = raw.split(',').map(Number);
  if (parsed.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) {
    throw new Error(
      `BENCH_AGENT_LEVELS: expected call counts 1-200 separated by commas, got ${raw}`,
    );
  }
  return parsed;
}

/**
 * The agent benchmarks (`npm run bench -- agent` runs only these): live-path cost per frame,
 * phone call setup against a bare participant, and concurrent calls on one worker.
 */
export async function runAgentBenches(env: BenchEnv): Promise<void> {
  // 0 skips a part (BENCH_AGENT_AUDIO_SECONDS, BENCH_AGENT_CALLS).
  const audioSeconds = Number(process.env.BENCH_AGENT_AUDIO_SECONDS ?? 60);
  if (audioSeconds > 0) printFrameCost(await agentFrameCost(audioSeconds));
  await routeBenchCalls(env);
  const calls = Number(process.env.BENCH_AGENT_CALLS ?? 20);
  if (calls > 0) printCallSetup(await agentCallSetup(env, calls));
  const rate = Number(process.env.BENCH_AGENT_RATE ?? 1);
  const idle = Number(process.env.BENCH_AGENT_IDLE ?? 4);
  const results = await agentCapacity(env, levels(), rate, idle);
  const held = results.filter((l) => l.ok).at(-1);
  const broke = results.find((l) => !l.ok);
  console.log(
    `Most concurrent calls held without gaps: ${held?.calls ?? 0}` +
      (broke ? `; broke at ${broke.calls}` : '') +
      ` (goal 100, at least 50: ${(held?.calls ?? 0) >= 100 ? 'met' : (held?.calls ?? 0) >= 50 ? 'minimum met' : 'NOT met'})`,
  );
}
