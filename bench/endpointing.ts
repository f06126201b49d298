import { runSilero, type Utterance } from '../test/helpers/detector-compare.js';
import { concat, espeakSpeech, mixUnder, silence, soxSynth } from '../test/helpers/speech-audio.js';
import { speechSpan } from '../test/standins/audio.js';

/** What decides when a caller's turn is over: Silero's silence window, then endpointing. */
interface Setting {
  name: string;
  vadSilenceMs: number;
  minDelayMs: number;
}

const SETTINGS: Setting[] = [
  { name: 'phone (ours)', vadSilenceMs: 300, minDelayMs: 350 },
  { name: 'LiveKit default', vadSilenceMs: 550, minDelayMs: 500 },
];

/** Turns as callers say them: a phrase, sometimes a pause to think, then the rest. */
const TURNS: [string, string | null][] = [
  ['I would like to book a table', 'for two people tonight'],
  ['My account number is', 'four five six seven'],
  ['Can you tell me', 'when you open on Sunday'],
  ['Yes', null],
  ['I need to change my appointment', null],
  ['The address is', 'twelve Station Road'],
  ['Hmm, let me think', 'maybe Thursday'],
  ['No thank you, that is all', null],
];
/** The pauses inside a turn, ms: a breath to a real hesitation. */
const PAUSES = [250, 400, 600, 800];
const RATE = 8000;
const VOICES = ['en-us', 'en-gb+f3'];

interface Scene {
  samples: Int16Array;
  /** Where each turn's voiced speech ends, ms; and where its inner pause is, if any. */
  turns: { endMs: number; pause?: { fromMs: number; toMs: number } }[];
}

/** All turns, each followed by 2 s of the caller waiting for the answer, over a quiet line. */
function scene(voice: string, pauseMs: number): Scene {
  const parts: Int16Array[] = [];
  const turns: Scene['turns'] = [];
  let atMs = 0;
  const push = (samples: Int16Array) => {
    parts.push(samples);
    atMs += (samples.length / RATE) * 1000;
  };
  for (const [first, rest] of TURNS) {
    const a = espeakSpeech(first, RATE, voice);
    const spanA = speechSpan(a, RATE)!;
    const startA = atMs;
    push(a);
    let pause: { fromMs: number; toMs: number } | undefined;
    let endMs = startA + spanA.end * 1000;
    if (rest) {
      const b = espeakSpeech(rest, RATE, voice);
      const spanB = speechSpan(b, RATE)!;
      // espeak-ng pads its speech: the pause is measured voiced end to voiced start.
      const gap = Math.max(0, pauseMs - (a.length / RATE - spanA.end) * 1000 - spanB.start * 1000);
      push(silence(gap, RATE));
      const startB = atMs;
      push(b);
      pause = { fromMs: endMs, toMs: startB + spanB.start * 1000 };
      endMs = startB + spanB.end * 1000;
    }
    turns.push({ endMs, ...(pause && { pause }) });
    push(silence(2000, RATE));
  }
  const samples = concat(...parts);
  return {
    samples: mixUnder(samples, soxSynth(samples.length / RATE, RATE, ['brownnoise'], 0.004)),
    turns,
  };
}

/**
 * When the agent would take the turn: at the end of each utterance Silero reports, plus the
 * endpointing delay, unless the caller speaks again before then.
 */
function turnEnds(utterances: Utterance[], s: Setting): number[] {
  const ends: number[] = [];
  for (let i = 0; i < utterances.length; i++) {
    const commitAt = utterances[i]!.endMs + s.vadSilenceMs + s.minDelayMs;
    const next = utterances[i + 1];
    if (!next || next.startMs > commitAt) ends.push(commitAt);
  }
  return ends;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? NaN;

/**
 * `npm run bench -- endpointing`: the phone settings against LiveKit's defaults on the same
 * recorded turns (espeak-ng, two voices, pauses inside turns of 250-800 ms), through the real
 * Silero VAD: how long after the caller's last word the agent may answer, and how often it
 * takes a turn in the middle (a false cut-off: the caller was pausing, not done).
 */
export async function printEndpointingBench(): Promise<void> {
  console.log(
    '\nEndpointing: phone settings vs LiveKit defaults (Silero VAD at 8 kHz, same turns)',
  );
  console.log(
    `${'setting'.padEnd(16)} ${'pause ms'.padStart(8)} ${'turns'.padStart(6)} ` +
      `${'latency p50'.padStart(12)} ${'p95'.padStart(6)} ${'cut-offs'.padStart(9)}`,
  );
  const totals = new Map<string, { cut: number; of: number; latency: number[] }>();
  for (const pauseMs of PAUSES) {
    const scenes = VOICES.map((voice) => scene(voice, pauseMs));
    for (const s of SETTINGS) {
      const latency: number[] = [];
      let cut = 0;
      let paused = 0;
      for (const sc of scenes) {
        const run = await runSilero(sc.samples, RATE, s.vadSilenceMs);
        const ends = turnEnds(run.utterances, s);
        for (const turn of sc.turns) {
          if (turn.pause) {
            paused++;
            if (ends.some((e) => e > turn.pause!.fromMs && e < turn.pause!.toMs + 50)) cut++;
          }
          // The first commit after the turn's last word (within the 2 s the caller waits).
          const commit = ends.find((e) => e >= turn.endMs && e < turn.endMs + 2000);
          if (commit !== undefined) latency.push(commit - turn.endMs);
        }
      }
      const total = totals.get(s.name) ?? { cut: 0, of: 0, latency: [] };
      total.cut += cut;
      total.of += paused;
      total.latency.push(...latency);
      totals.set(s.name, total);
      console.log(
        `${s.name.padEnd(16)} ${String(pauseMs).padStart(8)} ${String(latency.length).padStart(6)} ` +
          `${median(latency).toFixed(0).padStart(12)} ${p95(latency).toFixed(0).padStart(6)} ` +
          `${`${cut}/${paused}`.padStart(9)}`,
      );
    }
  }
  const [ours, theirs] = SETTINGS.map((s) => totals.get(s.name)!);
  console.log(
    `All pauses: phone p50 ${median(ours!.latency).toFixed(0)} ms vs default ` +
      `${median(theirs!.latency).toFixed(0)} ms (${(median(ours!.latency) / median(theirs!.latency)).toFixed(2)}x); ` +
      `cut-offs ${ours!.cut}/${ours!.of} vs ${theirs!.cut}/${theirs!.of}`,
  );
}
