import { runSilero, runSpeechDetector, type Utterance } from '../test/helpers/detector-compare.js';
import { concat, repliesScene, speechScene } from '../test/helpers/speech-audio.js';

const SILENCE_MS = 300;

/** Largest boundary difference (ms) between utterances matched in order; NaN if counts differ. */
function worstBoundary(ours: Utterance[], silero: Utterance[]): number {
  if (ours.length !== silero.length) return NaN;
  return Math.max(
    0,
    ...ours.map((u, i) =>
      Math.max(Math.abs(u.startMs - silero[i]!.startMs), Math.abs(u.endMs - silero[i]!.endMs)),
    ),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `npm run bench -- vad`: the offline profile's speech detector against Silero VAD on the same
 * espeak-ng speech in four voices, silence, pink and white noise (the scenes of
 * test/unit/speech-detector.test.ts, repeated): utterances found, worst boundary difference and CPU per 20 ms frame at 8 and
 * 16 kHz. Median of 3 interleaved rounds after a warm-up round.
 */
export async function printSpeechDetectorBench(repeats = 2): Promise<void> {
  console.log(
    `\nSpeech detector vs Silero VAD (${SILENCE_MS} ms silence window, espeak-ng speech over noise)`,
  );
  console.log(
    `${'rate'.padEnd(7)} ${'utterances'.padStart(11)} ${'worst ms'.padStart(9)} ` +
      `${'ours us/frame'.padStart(14)} ${'Silero us/frame'.padStart(16)} ${'ratio'.padStart(8)}`,
  );
  for (const rate of [8000, 16000] as const) {
    // Each scene is a call of its own (its noise starts with it); each is repeated.
    const scene = speechScene(rate).samples;
    const scenes = [
      concat(...Array.from({ length: repeats }, () => scene)),
      ...['en-us+f3', 'en-gb', 'de'].map((voice) => {
        const replies = repliesScene(rate, voice).samples;
        return concat(...Array.from({ length: repeats }, () => replies));
      }),
    ];
    for (const samples of scenes) {
      await runSilero(samples, rate, SILENCE_MS);
      runSpeechDetector(samples, rate, SILENCE_MS);
    }
    const oursCpu: number[] = [];
    const sileroCpu: number[] = [];
    let ourCount = 0;
    let sileroCount = 0;
    let worst = 0;
    for (let round = 0; round < 3; round += 1) {
      let ours = 0;
      let silero = 0;
      ourCount = sileroCount = worst = 0;
      for (const samples of scenes) {
        const s = await runSilero(samples, rate, SILENCE_MS);
        const o = runSpeechDetector(samples, rate, SILENCE_MS);
        silero += s.cpuPerFrameUs / scenes.length;
        ours += o.cpuPerFrameUs / scenes.length;
        ourCount += o.utterances.length;
        sileroCount += s.utterances.length;
        worst = Math.max(worst, worstBoundary(o.utterances, s.utterances));
      }
      sileroCpu.push(silero);
      oursCpu.push(ours);
    }
    const o = median(oursCpu);
    const s = median(sileroCpu);
    const found = `${ourCount}/${sileroCount}`;
    console.log(
      `${`${rate / 1000} kHz`.padEnd(7)} ${found.padStart(11)} ${worst.toFixed(0).padStart(9)} ` +
        `${o.toFixed(1).padStart(14)} ${s.toFixed(1).padStart(16)} ${(s / o).toFixed(0).padStart(7)}x`,
    );
  }
  console.log('  utterances: ours/Silero; ratio: Silero CPU / ours');
}
