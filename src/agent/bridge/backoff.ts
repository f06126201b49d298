import { cappedExponential } from '../../kernel/backoff.js';

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so calls dropped together do not reconnect in step.
 */
export function reconnectDelayMs(
  attempt: number,
  options: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const cap = cappedExponential(attempt, options.baseDelayMs, options.maxDelayMs);
  return Math.round(cap / 2 + (random() * cap) / 2);
}
