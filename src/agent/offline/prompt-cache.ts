import { resampleMono } from '../hold-music.js';
import type { ProfileSettings } from '../profile.js';
import { ESPEAK_RATE, espeakVoiceFor, renderWithEspeak } from './espeak.js';

/** The rate prompts are kept and played at (the agent track's rate; see docs/agents.md). */
export const PROMPT_RATE = 48_000;
/** About 11 minutes of speech at 48 kHz: every prompt of a few dozen profiles. */
export const DEFAULT_PROMPT_CACHE_BYTES = 64 * 1024 * 1024;
const RENDER_TIMEOUT_MS = 15_000;

/** What an agent taking over a call from a lost one says first. */
export const RESUME_LINE = 'Sorry, where were we?';

/** Lines any call may need: rendered with a profile's own, so none waits for espeak-ng. */
export const FIXED_LINES = [
  RESUME_LINE,
  'Are you still there?',
  'I did not hear anything, so I will hang up now. Goodbye.',
  'We have reached the time limit for this call. Goodbye.',
  'Sorry, the transfer did not go through.',
] as const;

/** Which espeak-ng voice speaks a profile: its `voice`, else the one for its language. */
export interface PromptVoice {
  language: string;
  voice?: string | undefined;
}

/** Text to mono 16-bit samples at `rate`. */
export type PromptRenderer = (text: string, voice: string, rate: number) => Promise<Int16Array>;

/** espeak-ng, then resampled from its 22.05 kHz to `rate`. */
export const renderPrompt: PromptRenderer = async (text, voice, rate) =>
  resampleMono(
    await renderWithEspeak(text, voice, AbortSignal.timeout(RENDER_TIMEOUT_MS)),
    ESPEAK_RATE,
    rate,
  );

/** Every fixed text a profile may say: greeting, menu, replies, apology and the fixed lines. */
export function profilePrompts(settings: ProfileSettings): string[] {
  const texts = [settings.greeting, ...settings.replies, settings.apology, ...FIXED_LINES];
  if (settings.ivr) {
    texts.push(settings.ivr.prompt, settings.ivr.invalid);
    for (const action of Object.values(settings.ivr.options))
      if (action.say) texts.push(action.say);
  }
  texts.push(settings.queue.timeout_message);
  if (settings.recording?.announce) texts.push(settings.recording.announce);
  return [...new Set(texts.map((t) => t.trim()).filter((t) => t.length > 0))];
}

export interface PromptCacheStats {
  entries: number;
  bytes: number;
  /** Renders started since the cache was made (a hit or a joined render starts none). */
  renders: number;
  hits: number;
  evictions: number;
}

/**
 * Rendered prompts, shared by every call of the process: each (voice, text) is rendered once,
 * concurrent requests for it wait on the same render, and the least recently used are dropped
 * when the samples held pass `maxBytes`.
 */
/** espeak-ng renders at once: one per core of the 2-core machines the bench ran on. */
export const DEFAULT_CONCURRENT_RENDERS = 2;

export class PromptCache {
  readonly rate: number;
  readonly #maxBytes: number;
  readonly #render: PromptRenderer;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #ready = new Map<string, Int16Array>();
  readonly #pending = new Map<string, Promise<Int16Array>>();
  /**
   * Renders waiting for one of the #slots: espeak-ng runs take a core each, and a burst of new
   * profiles' calls warming dozens of prompts at once starved the host's media. A call's own
   * prompt (urgent) goes before the warming of the rest.
   */
  readonly #waiting: { key: string; urgent: boolean; start: () => void }[] = [];
  #slots: number;
  #bytes = 0;
  #renders = 0;
  #hits = 0;
  #evictions = 0;

  constructor(
    options: { rate?: number; maxBytes?: number; render?: PromptRenderer; renders?: number } = {},
  ) {
    this.rate = options.rate ?? PROMPT_RATE;
    this.#slots = options.renders ?? DEFAULT_CONCURRENT_RENDERS;
    this.#maxBytes = options.maxBytes ?? DEFAULT_PROMPT_CACHE_BYTES;
    this.#render = options.render ?? renderPrompt;
  }

  /** The samples if they are rendered already (no waiting): the path of a warmed prompt. */
  peek(text: string, voice: PromptVoice): Int16Array | undefined {
    const key = keyOf(text, voice);
    const hit = this.#ready.get(key);
    if (hit) this.#touch(key, hit);
    return hit;
  }

  /**
   * The samples of `text` in `voice`, rendered now if no call asked for them before. `urgent`
   * (a call is waiting to say it) renders before the prompts that are only being warmed.
   */
  get(text: string, voice: PromptVoice, urgent = true): Promise<Int16Array> {
    const hit = this.peek(text, voice);
    if (hit) return Promise.resolve(hit);
    const key = keyOf(text, voice);
    const pending = this.#pending.get(key);
    if (pending) {
      if (urgent) this.#hurry(key);
      return pending;
    }
    this.#renders += 1;
    const render = this.#slot(key, urgent)
      .then(() => this.#render(text.trim(), espeakVoiceFor(voice.language, voice.voice), this.rate))
      .then((samples) => {
        this.#store(key, samples);
        return samples;
      })
      .finally(() => {
        this.#pending.delete(key);
        this.#slots += 1;
        this.#waiting.shift()?.start();
      });
    this.#pending.set(key, render);
    return render;
  }

  /** Renders a profile's fixed texts ahead of its first call; fails if one cannot be rendered. */
  async warm(settings: ProfileSettings): Promise<void> {
    await Promise.all(profilePrompts(settings).map((text) => this.get(text, settings, false)));
  }

  #slot(key: string, urgent: boolean): Promise<void> {
    if (this.#slots > 0) {
      this.#slots -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const entry = { key, urgent, start: () => ((this.#slots -= 1), resolve()) };
      if (urgent) this.#waiting.splice(this.#firstBackground(), 0, entry);
      else this.#waiting.push(entry);
    });
  }

  /** A warming render a call now waits for moves ahead of the other warming ones. */
  #hurry(key: string): void {
    const at = this.#waiting.findIndex((w) => w.key === key && !w.urgent);
    if (at < 0) return;
    const [entry] = this.#waiting.splice(at, 1);
    entry!.urgent = true;
    this.#waiting.splice(this.#firstBackground(), 0, entry!);
  }

  #firstBackground(): number {
    const at = this.#waiting.findIndex((w) => !w.urgent);
    return at < 0 ? this.#waiting.length : at;
  }

  stats(): PromptCacheStats {
    return {
      entries: this.#ready.size,
      bytes: this.#bytes,
      renders: this.#renders,
      hits: this.#hits,
      evictions: this.#evictions,
    };
  }

  #touch(key: string, samples: Int16Array): void {
    this.#hits += 1;
    this.#ready.delete(key);
    this.#ready.set(key, samples);
  }

  #store(key: string, samples: Int16Array): void {
    // A prompt larger than the whole cache is played but not kept.
    if (samples.byteLength > this.#maxBytes) return;
    this.#ready.set(key, samples);
    this.#bytes += samples.byteLength;
    for (const [oldKey, old] of this.#ready) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#ready.delete(oldKey);
      this.#bytes -= old.byteLength;
      this.#evictions += 1;
    }
  }
}

function keyOf(text: string, voice: PromptVoice): string {
  return `${espeakVoiceFor(voice.language, voice.voice)}\u0000${text.trim()}`;
}
