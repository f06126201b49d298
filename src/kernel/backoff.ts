/**
 * The delay before retry `attempt` (1-based): base, 2·base, 4·base ... never above max. Callers
 * add their own jitter; every retry loop in the gateway grows this way.
 */
export function cappedExponential(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

/** cappedExponential with ±20% jitter, so that retries failing together spread out. */
export function jitteredExponential(attempt: number, base: number, max: number): number {
  return cappedExponential(attempt, base, max) * (0.8 + Math.random() * 0.4);
}
