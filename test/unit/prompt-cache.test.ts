import { dispose } from '@livekit/rtc-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOfflineProfile } from '../../src/agent/offline-profile.js';
import {
  FIXED_LINES,
  PROMPT_RATE,
  PromptCache,
  profilePrompts,
  renderPrompt,
  type PromptRenderer,
} from '../../src/agent/offline/index.js';

// The offline prompts: rendered by the real espeak-ng once per process, kept within a bound.

afterAll(() => dispose());

const voice = { language: 'en-US' };

/** The real renderer, counting the texts it was asked for. */
function countingRenderer(): { render: PromptRenderer; texts: string[] } {
  const texts: string[] = [];
  return {
    texts,
    render: (text, v, rate) => {
      texts.push(text);
      return renderPrompt(text, v, rate);
    },
  };
}

describe('prompt cache', () => {
  it('renders a text once for many concurrent asks, and hands every caller the same samples', async () => {
    const counting = countingRenderer();
    const cache = new PromptCache({ render: counting.render });
    const asks = Array.from({ length: 10 }, () => cache.get('Press 1 for sales.', voice));
    const results = await Promise.all(asks);
    expect(counting.texts).toEqual(['Press 1 for sales.']);
    expect(new Set(results).size).toBe(1);
    // About a second of speech at the playing rate.
    expect(results[0]!.length).toBeGreaterThan(PROMPT_RATE * 0.5);
    expect(results[0]!.length).toBeLessThan(PROMPT_RATE * 3);
    expect(cache.peek('Press 1 for sales.', voice)).toBe(results[0]);
    await cache.get('Press 1 for sales.', voice);
    expect(counting.texts).toHaveLength(1);
  });

  it('keeps each voice apart: the same text in another language is rendered again', async () => {
    const counting = countingRenderer();
    const cache = new PromptCache({ render: counting.render });
    const english = await cache.get('Hallo', { language: 'en-US' });
    const german = await cache.get('Hallo', { language: 'de-DE' });
    expect(counting.texts).toHaveLength(2);
    expect(german).not.toBe(english);
  });

  it('drops the least recently used prompts when the bytes held pass the bound', async () => {
    const counting = countingRenderer();
    const one = await renderPrompt('one', 'en-us', PROMPT_RATE);
    // Room for about two short words.
    const cache = new PromptCache({ render: counting.render, maxBytes: one.byteLength * 2.5 });
    await cache.get('one', voice);
    await cache.get('two', voice);
    cache.peek('one', voice); // 'one' is now the most recent
    await cache.get('six', voice);
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(one.byteLength * 2.5);
    expect(stats.evictions).toBeGreaterThanOrEqual(1);
    expect(cache.peek('two', voice)).toBeUndefined();
    expect(cache.peek('one', voice)).toBeDefined();
    expect(cache.peek('six', voice)).toBeDefined();
    // An evicted prompt is rendered again when asked for.
    await cache.get('two', voice);
    expect(counting.texts.filter((t) => t === 'two')).toHaveLength(2);
  });

  it('warms every fixed text of the offline profile before the first call', async () => {
    const settings = loadOfflineProfile();
    const cache = new PromptCache();
    await cache.warm(settings);
    const texts = profilePrompts(settings);
    expect(texts).toContain(settings.greeting);
    expect(texts).toContain(settings.ivr!.prompt);
    expect(texts).toContain(settings.ivr!.invalid);
    expect(texts).toContain(settings.apology);
    for (const line of FIXED_LINES) expect(texts).toContain(line);
    for (const text of texts) expect(cache.peek(text, settings)).toBeDefined();
    expect(cache.stats().renders).toBe(texts.length);
  });
});
