import { GatewayError } from '../errors/index.js';

/** Password checks each API key, and each source address, may make per window. */
export const CREDENTIAL_CHECKS_PER_WINDOW = 5;
export const CREDENTIAL_CHECK_WINDOW_MS = 10 * 60_000;
const MAX_TRACKED = 10_000;

/**
 * Throttles GET /api/diagnostics/calls with a password: each answer says whether the password is
 * a trunk's, so unthrottled it is a guessing oracle. Counted per key and per source address,
 * in this process (a few per window per process is still no useful guessing rate).
 */
export class CredentialCheckThrottle {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit = CREDENTIAL_CHECKS_PER_WINDOW,
    private readonly windowMs = CREDENTIAL_CHECK_WINDOW_MS,
  ) {}

  /** Counts one check for each of `subjects`; a 429 with Retry-After seconds when over. */
  take(subjects: string[], now = Date.now()): void {
    if (this.#windows.size > MAX_TRACKED) this.#sweep(now);
    const windows = subjects.map((subject) => {
      let w = this.#windows.get(subject);
      if (!w || now - w.start >= this.windowMs) {
        w = { start: now, count: 0 };
        this.#windows.set(subject, w);
      }
      return w;
    });
    const full = windows.find((w) => w.count >= this.limit);
    if (full) {
      const retryAfter = Math.ceil((full.start + this.windowMs - now) / 1000);
      throw new GatewayError(
        'rate_limited',
        `too many credential checks: at most ${this.limit} every ${this.windowMs / 60_000} minutes per key and per address`,
        { retry_after_seconds: retryAfter },
      );
    }
    for (const w of windows) w.count += 1;
  }

  #sweep(now: number): void {
    for (const [subject, w] of this.#windows)
      if (now - w.start >= this.windowMs) this.#windows.delete(subject);
    if (this.#windows.size > MAX_TRACKED) this.#windows.clear();
  }
}
