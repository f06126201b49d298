import {
  agentBridgeCapacity,
  agentPipelineCapacity,
  agentCallSetup,
  agentCapacity,
  bareCapacity,
  printCallSetup,
  routeBenchCalls,
} from './agent-calls.js';
import { agentFailover, printFailover } from './agent-failover.js';
import { agentFrameCost, printFrameCost } from './agent-frame-cost.js';
import type { BenchEnv } from './setup.js';

/** Media ports for LiveKit and LiveKit SIP: 100 calls take about 4 and 1 each. */
export const AGENT_MEDIA_PORTS = 500;

/** Call counts from `variable` (comma separated), or `fallback`. */
function levels(variable: string, fallback: string): number[] {
  const raw = process.env[variable] ?? fallback;
  const parsed = raw.split(',').map(Number);
  if (parsed.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) {
    throw new Error(`${variable}: expected call counts 1-200 separated by commas, got ${raw}`);
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
  // Two hosts, the busier killed mid-run (BENCH_AGENT_FAILOVER_CALLS, 0 skips it).
  const failoverCalls = Number(process.env.BENCH_AGENT_FAILOVER_CALLS ?? 8);
  if (failoverCalls > 0) printFailover(await agentFailover(env, failoverCalls));
  const rate = Number(process.env.BENCH_AGENT_RATE ?? 1);
  // The call host runs calls in its own process: no idle job processes to wait for.
  const idle = 0;
  const results = await agentCapacity(
    env,
    levels('BENCH_AGENT_LEVELS', '2,4,6,8,10,25,50,75,100'),
    rate,
    idle,
  );
  const held = heldCalls(results);
  console.log(
    `Most concurrent calls held without gaps: ${held.text}` +
      ` (goal 100, at least 50: ${held.calls >= 100 ? 'met' : held.calls >= 50 ? 'minimum met' : 'NOT met'})`,
  );
  // Bridge and pipeline modes on the same ramp (BENCH_AGENT_BRIDGE_LEVELS,
  // BENCH_AGENT_PIPELINE_LEVELS; 0 skips one).
  const bridge = await modeCapacity(
    'Bridge',
    'BENCH_AGENT_BRIDGE_LEVELS',
    '2,4,6,8,10,25,50,75,100',
    (l) => agentBridgeCapacity(env, l, rate),
  );
  const pipeline = await modeCapacity(
    'Pipeline',
    'BENCH_AGENT_PIPELINE_LEVELS',
    '2,4,6,8,10,25,50',
    (l) => agentPipelineCapacity(env, l, rate),
  );
  // BENCH_AGENT_BASELINE=0 skips the baseline.
  if (process.env.BENCH_AGENT_BASELINE !== '0') {
    const baseline = heldCalls(
      await bareCapacity(env, levels('BENCH_BASELINE_LEVELS', '10,20,30,40,50,75,100'), rate),
    );
    const ratio = (calls: number) => (calls / Math.max(1, baseline.calls)).toFixed(2);
    console.log(
      `Baseline, bare rtc-node participants: ${baseline.text}; the offline agent holds ` +
        `${held.calls}/${baseline.calls} = ${ratio(held.calls)}x of it (goal 0.8x)`,
    );
    if (pipeline) {
      console.log(
        `Pipeline mode holds ${pipeline.calls}/${baseline.calls} = ${ratio(pipeline.calls)}x of the baseline (goal 0.5x)`,
      );
    }
    if (bridge) {
      console.log(
        `Bridge mode holds ${bridge.calls}/${baseline.calls} = ${ratio(bridge.calls)}x of the baseline (goal 0.9x)`,
      );
    }
  }
}

/** One mode's ramp, unless its levels variable is 0; what it held, printed. */
async function modeCapacity(
  mode: string,
  variable: string,
  fallback: string,
  run: (levels: number[]) => Promise<{ calls: number; ok: boolean }[]>,
) {
  if (process.env[variable] === '0') return undefined;
  const held = heldCalls(await run(levels(variable, fallback)));
  console.log(`${mode} mode: most concurrent calls held without gaps: ${held.text}`);
  return held;
}

function heldCalls(results: { calls: number; ok: boolean }[]) {
  const held = results.filter((l) => l.ok).at(-1)?.calls ?? 0;
  const broke = results.find((l) => !l.ok)?.calls;
  return { calls: held, text: `${held}${broke ? `; broke at ${broke}` : ''}` };
}
