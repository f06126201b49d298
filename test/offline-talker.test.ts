import { randomBytes } from 'node:crypto';
import { dispose } from '@livekit/rtc-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultHoldMelody } from '../src/agent/hold-music.js';
import { OfflineTalker, PromptCache } from '../src/agent/offline/index.js';
import { profileSettingsSchema, type ProfileSettings } from '../src/agent/profile.js';
import { joinRoom, type AudioParticipant } from './helpers/audio-participant.js';
import { concat, dtmfTone, espeakSpeech, silence } from './helpers/speech-audio.js';
import { runSpeechDetector } from './helpers/detector-compare.js';

// The offline profile's per-call audio on a real LiveKit: an OfflineTalker in a room, a caller
// participant (rtc-node) that speaks espeak-ng speech and listens to what the agent says.

const stack = inject('stack');
const log = pino({ level: 'silent' });
const RATE = 48_000;
const settings: ProfileSettings = profileSettingsSchema.parse({
  mode: 'offline',
  greeting: 'Hello, you have reached the offline test agent.',
  replies: ['Please press a key.'],
  endpointing: { vad_silence_seconds: 0.3 },
});
const LONG_TEXT =
  'This is a long announcement that keeps going for a good while, so that there is ' +
  'plenty of time to cut it off in the middle of a sentence.';
const cache = new PromptCache();

/** Polls `done` every 20 ms for at most `ms` (then the test's own expect says what is wrong). */
async function until(done: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Call {
  agent: AudioParticipant;
  caller: AudioParticipant;
  talker: OfflineTalker;
  hangUp(): Promise<void>;
}

/** A room with the talker on the agent's side and a caller who publishes a microphone. */
async function startCall(): Promise<Call> {
  const name = `offline-${randomBytes(4).toString('hex')}`;
  const agent = await joinRoom(stack, name, 'agent');
  const caller = await joinRoom(stack, name, 'caller', { publishRate: RATE });
  const talker = new OfflineTalker(
    agent.room,
    await agent.participant('caller'),
    settings,
    cache,
    log,
  );
  await talker.ready;
  return {
    agent,
    caller,
    talker,
    async hangUp() {
      await talker.close();
      await caller.leave();
      await agent.leave();
    },
  };
}

beforeAll(async () => {
  await cache.warm(settings);
  await cache.get(LONG_TEXT, settings);
});
afterAll(() => dispose());

describe('offline talker on a real LiveKit room', () => {
  it('the caller hears a warmed greeting within 150 ms of say()', async () => {
    const call = await startCall();
    try {
      const heard = await call.caller.listen('agent');
      // Let the subscription settle, so only the prompt's own path is measured.
      await new Promise((r) => setTimeout(r, 500));
      const asked = Date.now();
      const handle = call.talker.say(settings.greeting);
      await until(() => heard.firstLoudAfter(asked) !== undefined, 5000);
      expect(heard.firstLoudAfter(asked)! - asked).toBeLessThanOrEqual(150);
      await handle.done;
      expect(handle.interrupted).toBe(false);
      // The whole greeting was played: about as long as its samples.
      const played = heard.lastLoud()! - heard.firstLoudAfter(asked)!;
      const length = (cache.peek(settings.greeting, settings)!.length / RATE) * 1000;
      expect(played).toBeGreaterThan(length - 600);
      await heard.stop();
    } finally {
      await call.hangUp();
    }
  });

  it('hears what the caller says, with its duration, and answers in order', async () => {
    const call = await startCall();
    try {
      const scene = (rate: number) =>
        concat(
          silence(800, rate),
          espeakSpeech('I would like to change my appointment to next Tuesday afternoon.', rate),
          silence(1500, rate),
          espeakSpeech('My account number is four five six seven.', rate),
          silence(1200, rate),
        );
      const audio = scene(RATE);
      // What the detector finds in the same speech before it crossed LiveKit.
      const expected = runSpeechDetector(scene(8000), 8000, 300).utterances;
      expect(expected).toHaveLength(2);
      const started: number[] = [];
      const ended: number[] = [];
      call.talker.on('speechStarted', (e) => started.push(e.startedAt));
      call.talker.on('speechEnded', (e) => ended.push(e.durationMs));
      await call.caller.play(audio, RATE);
      await until(() => ended.length === 2, 3000);
      expect(ended).toHaveLength(2);
      expect(started).toHaveLength(2);
      ended.forEach((duration, i) => {
        const want = expected[i]!.endMs - expected[i]!.startMs;
        expect(Math.abs(duration - want), `utterance ${i}`).toBeLessThanOrEqual(150);
      });
    } finally {
      await call.hangUp();
    }
  });

  it("hears key tones in the caller's audio (in-band DTMF) through Opus, none in speech or music", async () => {
    const call = await startCall();
    try {
      const keys: string[] = [];
      call.talker.on('dtmf', ({ digit }) => keys.push(digit));
      const pressed = '159#0*';
      await call.caller.play(
        concat(
          silence(500, RATE),
          ...[...pressed].flatMap((k) => [dtmfTone(k, 80, RATE), silence(120, RATE)]),
          silence(300, RATE),
        ),
        RATE,
      );
      await until(() => keys.length >= pressed.length, 2000);
      expect(keys.join('')).toBe(pressed);
      await call.caller.play(
        concat(
          espeakSpeech('Please transfer me to someone in the billing department.', RATE),
          defaultHoldMelody(RATE),
          defaultHoldMelody(RATE),
          silence(500, RATE),
        ),
        RATE,
      );
      expect(keys.join('')).toBe(pressed);
    } finally {
      await call.hangUp();
    }
  });

  it('takes neither key tones under 400 ms nor the hold music for speech', async () => {
    const call = await startCall();
    try {
      const events: string[] = [];
      call.talker.on('speechStarted', () => events.push('started'));
      call.talker.on('speechEnded', () => events.push('ended'));
      const keys = ['1', '5', '9', '0', '#'].flatMap((k) => [
        dtmfTone(k, 200, RATE),
        silence(150, RATE),
      ]);
      await call.caller.play(concat(silence(500, RATE), ...keys, dtmfTone('5', 380, RATE)), RATE);
      await call.caller.play(concat(defaultHoldMelody(RATE), silence(800, RATE)), RATE);
      expect(events).toEqual([]);
      // Still listening: real speech afterwards is heard.
      await call.caller.play(
        concat(espeakSpeech('Now I am talking.', RATE), silence(800, RATE)),
        RATE,
      );
      await until(() => events.length === 2, 3000);
      expect(events).toEqual(['started', 'ended']);
    } finally {
      await call.hangUp();
    }
  });

  it('interrupt() silences the caller at once and ends the prompt as interrupted', async () => {
    const call = await startCall();
    try {
      const heard = await call.caller.listen('agent');
      const handle = call.talker.say(LONG_TEXT);
      await until(() => heard.firstLoudAfter(0) !== undefined, 5000);
      expect(heard.firstLoudAfter(0)).toBeDefined();
      await new Promise((r) => setTimeout(r, 1000));
      const cut = Date.now();
      call.talker.interrupt();
      await handle.done;
      expect(handle.interrupted).toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      // The last loud frame arrives no later than the audio already on its way (source queue
      // 100 ms, jitter buffer) allows.
      expect(heard.lastLoud()! - cut).toBeLessThanOrEqual(200);
      expect(call.talker.speaking).toBe(false);
      await heard.stop();
    } finally {
      await call.hangUp();
    }
  });

  it('the caller barges in on an interruptible prompt, not on one said without interruptions', async () => {
    const call = await startCall();
    try {
      const talking = concat(
        espeakSpeech('Stop, I need to talk to someone.', RATE),
        silence(600, RATE),
      );
      const cut = call.talker.say(LONG_TEXT);
      await call.caller.play(talking, RATE);
      await cut.done;
      expect(cut.interrupted).toBe(true);

      const kept = call.talker.say('Thank you.', { allowInterruptions: false });
      const longKept = call.talker.say(LONG_TEXT, { allowInterruptions: false });
      await call.caller.play(talking, RATE);
      expect(longKept.interrupted).toBe(false);
      await Promise.all([kept.done, longKept.done]);
      expect(kept.interrupted || longKept.interrupted).toBe(false);
    } finally {
      await call.hangUp();
    }
  });

  it('on hold it neither speaks nor listens; on resume it listens again', async () => {
    const call = await startCall();
    try {
      const events: string[] = [];
      call.talker.on('speechEnded', () => events.push('ended'));
      const handle = call.talker.say(LONG_TEXT);
      await new Promise((r) => setTimeout(r, 500));
      await call.talker.pause();
      await handle.done;
      expect(handle.interrupted).toBe(true);
      const speech = concat(espeakSpeech('Hello, is anybody there?', RATE), silence(800, RATE));
      await call.caller.play(speech, RATE);
      expect(events).toEqual([]);
      call.talker.resume();
      await call.caller.play(speech, RATE);
      await until(() => events.length === 1, 3000);
      expect(events).toEqual(['ended']);
    } finally {
      await call.hangUp();
    }
  });

  it('two talkers in two rooms neither hear nor speak to each other', async () => {
    const [a, b] = await Promise.all([startCall(), startCall()]);
    try {
      const heardA = await a.caller.listen('agent');
      const heardB = await b.caller.listen('agent');
      const events = { a: 0, b: 0 };
      a.talker.on('speechEnded', () => (events.a += 1));
      b.talker.on('speechEnded', () => (events.b += 1));
      const since = Date.now();
      const said = a.talker.say(settings.greeting);
      await a.caller.play(
        concat(espeakSpeech('This is the first caller speaking.', RATE), silence(800, RATE)),
        RATE,
      );
      await said.done;
      await until(() => events.a === 1, 3000);
      expect(events.a).toBe(1);
      expect(events.b).toBe(0);
      expect(heardA.firstLoudAfter(since)).toBeDefined();
      expect(heardB.firstLoudAfter(since)).toBeUndefined();
      await heardA.stop();
      await heardB.stop();
    } finally {
      await Promise.all([a.hangUp(), b.hangUp()]);
    }
  });
});
