import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initializeLogger, llm, stt, tts } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { AudioFrame } from '@livekit/rtc-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLlm,
  createStt,
  createTts,
  MissingApiKeyError,
  ProviderSettingsError,
} from '../src/agent/providers/index.js';
import { parseWav, speechSpan, type Wav } from './standins/audio.js';
import { DeepgramStandin } from './standins/deepgram.js';
import { ElevenlabsStandin } from './standins/elevenlabs.js';
import { OpenaiStandin } from './standins/openai.js';

const UTTERANCE = 'please transfer me to an operator';
const REPLY = 'Of course, I am transferring you to an operator now.';
const env = {
  TEST_OPENAI_KEY: 'sk-test-openai',
  TEST_DG_KEY: 'dg-test',
  TEST_XI_KEY: 'xi-test',
  // The operator's allowance for these names and for the stand-ins' host (key-policy.ts).
  AGENT_PROVIDER_KEY_ENVS: 'TEST_OPENAI_KEY,TEST_DG_KEY,TEST_XI_KEY',
  AGENT_PROVIDER_HOSTS: '127.0.0.1',
};

let dir: string;
let speech: Wav;
let openaiStandin: OpenaiStandin;
let deepgramStandin: DeepgramStandin;
let elevenlabsStandin: ElevenlabsStandin;

beforeAll(async () => {
  initializeLogger({ pretty: false, level: 'warn' });
  dir = mkdtempSync(join(tmpdir(), 'providers-test-'));
  execFileSync('espeak-ng', ['-w', join(dir, 'utterance.wav'), UTTERANCE]);
  speech = parseWav(readFileSync(join(dir, 'utterance.wav')));
  [openaiStandin, deepgramStandin, elevenlabsStandin] = await Promise.all([
    OpenaiStandin.start({ chatReply: REPLY, transcript: UTTERANCE }),
    DeepgramStandin.start({ transcript: UTTERANCE, endpointSilenceMs: 500 }),
    ElevenlabsStandin.start(),
  ]);
});

afterAll(async () => {
  await Promise.all([openaiStandin?.close(), deepgramStandin?.close(), elevenlabsStandin?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** 20 ms frames of `wav` between stretches of silence, as a room track delivers them. */
function framesOf(wav: Wav, silenceAfter = 0, silenceBefore = 0): AudioFrame[] {
  const perFrame = wav.sampleRate / 50;
  const before = Math.round(silenceBefore * wav.sampleRate);
  const total = new Int16Array(
    before + wav.samples.length + Math.round(silenceAfter * wav.sampleRate),
  );
  total.set(wav.samples, before);
  const frames: AudioFrame[] = [];
  for (let at = 0; at < total.length; at += perFrame) {
    const data = total.slice(at, Math.min(at + perFrame, total.length));
    frames.push(new AudioFrame(data, wav.sampleRate, 1, data.length));
  }
  return frames;
}

const seconds = (wav: Wav) => wav.samples.length / wav.sampleRate;

/**
 * Reads `stream` until `done` says so (or, with `done` null, until the stream ends), failing
 * after `timeoutMs` instead of hanging.
 */
async function readUntil<T>(
  stream: AsyncIterableIterator<T>,
  done: ((item: T) => boolean) | null,
  timeoutMs = 15_000,
): Promise<T[]> {
  const items: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      stream.next(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deadline - Date.now());
      }),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') break;
    if (next.done) {
      if (done === null) return items;
      break;
    }
    items.push(next.value);
    if (done?.(next.value)) return items;
  }
  throw new Error(`stream ended or timed out after ${items.length} items without the awaited one`);
}

function audioOf(items: (tts.SynthesizedAudio | symbol)[]) {
  const frames = items.filter((i): i is tts.SynthesizedAudio => typeof i !== 'symbol');
  return {
    rates: new Set(frames.map((f) => f.frame.sampleRate)),
    seconds: frames.reduce((sum, f) => sum + f.frame.samplesPerChannel / f.frame.sampleRate, 0),
  };
}

describe('speech-to-text through the real plugins', () => {
  it('deepgram: streams a spoken utterance at 16 kHz and yields the final transcript', async () => {
    const recognizer = createStt(
      {
        provider: 'deepgram',
        base_url: deepgramStandin.url,
        api_key_env: 'TEST_DG_KEY',
        endpointing_ms: 300,
      },
      env,
    );
    const stream = recognizer.stream();
    try {
      // Silence after the words lets the service hear the end of the utterance.
      for (const frame of framesOf(speech, 1.5)) stream.pushFrame(frame);
      const events = await readUntil(stream, (e) => e.type === stt.SpeechEventType.END_OF_SPEECH);
      const types = events.map((e) => e.type);
      expect(types[0]).toBe(stt.SpeechEventType.START_OF_SPEECH);
      expect(types).toContain(stt.SpeechEventType.INTERIM_TRANSCRIPT);
      const final = events.find((e) => e.type === stt.SpeechEventType.FINAL_TRANSCRIPT);
      expect(final?.alternatives?.[0]?.text).toBe(UTTERANCE);
    } finally {
      stream.close();
      await recognizer.close();
    }

    const session = deepgramStandin.listenSessions.at(-1)!;
    expect(session.authorization).toBe('Token dg-test');
    expect(session).toMatchObject({ sampleRate: 16000, encoding: 'linear16', channels: 1 });
    expect(session.query.get('model')).toBe('nova-3');
    expect(session.query.get('language')).toBe('en-US');
    expect(session.query.get('endpointing')).toBe('300');
    // The espeak file is 22.05 kHz: the words must land at the same times after resampling,
    // which holds only if the audio really is at the 16 kHz the URL declared.
    const spoken = speechSpan(speech.samples, speech.sampleRate)!;
    expect(session.speech!.start).toBeCloseTo(spoken.start, 1);
    expect(session.speech!.end - session.speech!.start).toBeCloseTo(spoken.end - spoken.start, 1);
    // All the utterance arrived; of the 1.5 s tail the plugin's energy filter keeps under 1 s.
    const received = session.bytes / 2 / 16000;
    expect(received).toBeGreaterThan(seconds(speech) - 0.1);
    expect(received).toBeLessThan(seconds(speech) + 1.1);
  });

  it('openai: sends the utterance as a WAV to /audio/transcriptions and returns its text', async () => {
    const recognizer = createStt(
      {
        provider: 'openai',
        model: 'whisper-large-v3-turbo',
        base_url: openaiStandin.url,
        api_key_env: 'TEST_OPENAI_KEY',
      },
      env,
    );
    try {
      // What the session's StreamAdapter does with a non-streaming STT once its VAD ends a turn.
      const event = await recognizer.recognize(framesOf(speech));
      expect(event.type).toBe(stt.SpeechEventType.FINAL_TRANSCRIPT);
      expect(event.alternatives?.[0]?.text).toBe(UTTERANCE);
    } finally {
      await recognizer.close();
    }
    const request = openaiStandin.transcriptionRequests.at(-1)!;
    expect(request).toMatchObject({
      authorization: 'Bearer sk-test-openai',
      model: 'whisper-large-v3-turbo',
      language: 'en',
    });
    expect(request.wav.sampleRate).toBe(speech.sampleRate);
    expect(request.wav.channels).toBe(1);
    expect(request.wav.seconds).toBeCloseTo(seconds(speech), 2);
    expect(request.speech).toEqual(speechSpan(speech.samples, speech.sampleRate));
  });

  it('openai: behind the VAD stream adapter the session uses, transcribes the whole turn', async () => {
    const recognizer = createStt(
      { provider: 'openai', base_url: openaiStandin.url, api_key_env: 'TEST_OPENAI_KEY' },
      env,
    );
    // AgentSession wraps a non-streaming STT like this, with the session's VAD.
    const adapter = new stt.StreamAdapter(recognizer, await silero.VAD.load());
    const stream = adapter.stream();
    const before = openaiStandin.transcriptionRequests.length;
    try {
      // The line is open a second before the caller speaks: silero's 0.5 s prefix padding
      // is zeros when speech starts sooner than that into the stream.
      for (const frame of framesOf(speech, 1.5, 1)) stream.pushFrame(frame);
      const events = await readUntil(
        stream,
        (e) => e.type === stt.SpeechEventType.FINAL_TRANSCRIPT,
      );
      expect(events.map((e) => e.type)).toContain(stt.SpeechEventType.START_OF_SPEECH);
      expect(events.at(-1)?.alternatives?.[0]?.text).toBe(UTTERANCE);
    } finally {
      stream.close();
      await adapter.close();
    }
    const requests = openaiStandin.transcriptionRequests.slice(before);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.model).toBe('whisper-1');
    // The turn the VAD cut holds all the words: same voiced length as the file.
    const spoken = speechSpan(speech.samples, speech.sampleRate)!;
    const heard = requests[0]!.speech!;
    expect(Math.abs(heard.end - heard.start - (spoken.end - spoken.start))).toBeLessThan(0.1);
  });
});

describe('language model through the real plugin', () => {
  it('streams the reply and sends the system prompt and the caller transcript', async () => {
    const model = createLlm(
      {
        provider: 'openai',
        model: 'llama-3.3-70b-versatile',
        temperature: 0.4,
        base_url: openaiStandin.url,
        api_key_env: 'TEST_OPENAI_KEY',
      },
      env,
    );
    const chatCtx = llm.ChatContext.empty();
    chatCtx.addMessage({ role: 'system', content: 'You are the front desk of Acme.' });
    chatCtx.addMessage({ role: 'user', content: UTTERANCE });
    let text = '';
    const stream = model.chat({ chatCtx });
    try {
      const chunks = await readUntil(stream, (c) => c.usage !== undefined);
      text = chunks.map((c) => c.delta?.content ?? '').join('');
    } finally {
      stream.close();
      await model.aclose();
    }
    expect(text).toBe(REPLY);
    const request = openaiStandin.chatRequests.at(-1)!;
    expect(request.authorization).toBe('Bearer sk-test-openai');
    expect(request.body).toMatchObject({
      model: 'llama-3.3-70b-versatile',
      stream: true,
      temperature: 0.4,
    });
    const said = (role: string) =>
      request.body.messages.filter((m) => m.role === role).map((m) => JSON.stringify(m.content));
    expect(said('system').join()).toContain('You are the front desk of Acme.');
    expect(said('user').join()).toContain(UTTERANCE);
  });

  it('talks to a keyless self-hosted endpoint when api_key_env is null', async () => {
    const model = createLlm(
      { provider: 'openai', model: 'qwen2.5', base_url: openaiStandin.url, api_key_env: null },
      {},
    );
    const chatCtx = llm.ChatContext.empty();
    chatCtx.addMessage({ role: 'user', content: 'hi' });
    const stream = model.chat({ chatCtx });
    try {
      const chunks = await readUntil(stream, (c) => c.usage !== undefined);
      expect(chunks.map((c) => c.delta?.content ?? '').join('')).toBe(REPLY);
    } finally {
      stream.close();
      await model.aclose();
    }
    expect(openaiStandin.chatRequests.at(-1)!.body.model).toBe('qwen2.5');
  });
});

describe('text-to-speech through the real plugins', () => {
  const first = 'Thank you for calling Acme.';
  const second = 'How can I help you today?';

  it('openai: synthesizes 24 kHz audio as long as the stand-in spoke', async () => {
    const voice = createTts(
      {
        provider: 'openai',
        voice: 'nova',
        base_url: openaiStandin.url,
        api_key_env: 'TEST_OPENAI_KEY',
      },
      env,
    );
    try {
      expect(voice.sampleRate).toBe(24000);
      const stream = voice.synthesize(first);
      const items = await readUntil(stream, (a) => a.final);
      const audio = audioOf(items);
      expect([...audio.rates]).toEqual([24000]);
      const sent = openaiStandin.speechRequests.at(-1)!.audioSeconds;
      expect(sent).toBeCloseTo(first.length * 0.05, 3);
      // The plugin never flushes its 100 ms framer, so a last partial frame is dropped.
      expect(audio.seconds).toBeLessThanOrEqual(sent);
      expect(audio.seconds).toBeGreaterThan(sent - 0.1);
    } finally {
      await voice.close();
    }
    const request = openaiStandin.speechRequests.at(-1)!;
    expect(request.authorization).toBe('Bearer sk-test-openai');
    expect(request.body).toMatchObject({
      input: first,
      voice: 'nova',
      model: 'tts-1',
      response_format: 'pcm',
    });
  });

  it('elevenlabs: streams two sentences over the multi-stream WebSocket at 16 kHz', async () => {
    const voice = createTts(
      {
        provider: 'elevenlabs',
        voice_id: 'voice-under-test',
        model: 'eleven_flash_v2_5',
        encoding: 'pcm_16000',
        voice_settings: { stability: 0.4, similarity_boost: 0.8 },
        // A trailing /v1 is accepted as well as the bare origin.
        base_url: `${elevenlabsStandin.url}/v1`,
        api_key_env: 'TEST_XI_KEY',
      },
      env,
    );
    try {
      expect(voice.sampleRate).toBe(16000);
      const stream = voice.stream();
      // As the session feeds LLM output: pieces of text, a flush at the end of the turn.
      for (const piece of [`${first} `, second]) stream.pushText(piece);
      stream.flush();
      stream.endInput();
      // This plugin ends the stream after the frame marked final, with no END_OF_STREAM item.
      const items = await readUntil(stream, null);
      const last = items.at(-1);
      expect(typeof last !== 'symbol' && last?.final).toBe(true);
      const audio = audioOf(items);
      expect([...audio.rates]).toEqual([16000]);
      const session = elevenlabsStandin.sessions.at(-1)!;
      const context = [...session.contexts.values()].at(-1)!;
      expect(context.spoken.join('').replace(/\s+/g, ' ').trim()).toBe(`${first} ${second}`);
      expect(audio.seconds).toBeCloseTo(context.audioSeconds, 2);
      expect(audio.seconds).toBeGreaterThan((first.length + second.length) * 0.05 - 0.01);
      expect(session).toMatchObject({ voiceId: 'voice-under-test', apiKey: 'xi-test' });
      expect(session.query.get('model_id')).toBe('eleven_flash_v2_5');
      expect(context.voiceSettings).toEqual({ stability: 0.4, similarity_boost: 0.8 });
      expect(context.closed).toBe(true);
    } finally {
      await voice.close();
    }
  });

  it('deepgram: streams over /v1/speak at the configured 16 kHz', async () => {
    const voice = createTts(
      {
        provider: 'deepgram',
        model: 'aura-2-thalia-en',
        sample_rate: 16000,
        base_url: deepgramStandin.url,
        api_key_env: 'TEST_DG_KEY',
      },
      env,
    );
    try {
      expect(voice.sampleRate).toBe(16000);
      const stream = voice.stream();
      stream.pushText(`${first} ${second}`);
      stream.flush();
      stream.endInput();
      const items = await readUntil(stream, (a) => a === tts.SynthesizeStream.END_OF_STREAM);
      const audio = audioOf(items);
      expect([...audio.rates]).toEqual([16000]);
      const session = deepgramStandin.speakSessions.at(-1)!;
      expect(session.authorization).toBe('Token dg-test');
      expect(session.query.get('sample_rate')).toBe('16000');
      expect(session.query.get('encoding')).toBe('linear16');
      expect(session.query.get('model')).toBe('aura-2-thalia-en');
      expect(session.texts.join('').replace(/\s+/g, ' ').trim()).toBe(`${first} ${second}`);
      expect(audio.seconds).toBeCloseTo(session.audioSeconds, 2);
      expect(audio.seconds).toBeGreaterThan(0.5);
    } finally {
      await voice.close();
    }
  });
});

describe('profile settings errors', () => {
  it('names the environment variable that holds no API key', () => {
    expect(() => createStt({ provider: 'deepgram' }, {})).toThrow(MissingApiKeyError);
    expect(() => createStt({ provider: 'deepgram' }, {})).toThrow(/DEEPGRAM_API_KEY/);
    expect(() =>
      createLlm({ provider: 'openai', api_key_env: 'VG_PROVIDER_KEY_GROQ' }, {}),
    ).toThrow(
      /llm provider openai needs an API key in the environment variable VG_PROVIDER_KEY_GROQ/,
    );
    expect(() => createTts({ provider: 'elevenlabs' }, { ELEVEN_API_KEY: '' })).toThrow(
      /ELEVEN_API_KEY/,
    );
  });

  it('names the field that is wrong', () => {
    const failure = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(ProviderSettingsError);
        return (error as Error).message;
      }
      throw new Error('expected the settings to be refused');
    };
    expect(failure(() => createStt({ provider: 'whisper' } as never, env))).toMatch(
      /stt\.provider: provider must be one of "deepgram", "openai"/,
    );
    expect(
      failure(() => createTts({ provider: 'elevenlabs', encoding: 'mp3_44100_128' } as never, env)),
    ).toMatch(/tts\.encoding/);
    expect(failure(() => createLlm({ provider: 'openai', temperature: 0 }, env))).toMatch(
      /llm\.temperature: must be greater than 0/,
    );
    expect(
      failure(() => createLlm({ provider: 'openai', api_key: 'sk-in-profile' } as never, env)),
    ).toMatch(/Unrecognized key: "api_key"/);
    expect(failure(() => createTts({ provider: 'openai', api_key_env: 'my key' }, env))).toMatch(
      /tts\.api_key_env: must be the name of an environment variable/,
    );
    expect(failure(() => createLlm({ provider: 'openai', api_key_env: null }, env))).toMatch(
      /llm\.api_key_env: may be null only with a base_url/,
    );
    expect(
      failure(() => createStt({ provider: 'deepgram', base_url: 'ftp://dg.example' }, env)),
    ).toMatch(/stt\.base_url: must be an http\(s\):\/\/ or ws\(s\):\/\/ URL/);
  });
});
