import type { TranscriptLine } from '../../contract/index.js';

/** How long a new line waits before the transcript so far goes to the API (while the call runs). */
const LIVE_REPORT_MS = 1000;

/**
 * A call's transcript. With `live`, the transcript so far goes to the API while the call runs
 * (at most once a second, not sent to customers): if this host dies, the agent that takes over
 * reads it.
 */
export class CallTranscript {
  readonly lines: TranscriptLine[];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    earlier: TranscriptLine[],
    private readonly live: ((lines: TranscriptLine[]) => void) | undefined,
  ) {
    this.lines = [...earlier];
  }

  /** What the agent said. */
  said(text: string): void {
    this.add('agent', text);
  }

  /** What the caller said or pressed. */
  heard(text: string): void {
    this.add('caller', text);
  }

  add(speaker: TranscriptLine['speaker'], text: string): void {
    this.lines.push({ at: new Date().toISOString(), speaker, text });
    this.#sendSoon();
  }

  #sendSoon(): void {
    if (!this.live || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.live?.(this.lines);
    }, LIVE_REPORT_MS);
    this.#timer.unref();
  }
}
