import type { Logger } from './logger.js';

/**
 * Runs `work` every `intervalSeconds` (never two runs at once; a run still going when the next
 * is due is not doubled) and returns the function that stops it. 0 seconds: never.
 */
export function every(
  intervalSeconds: number,
  work: () => Promise<unknown>,
  onError: { logger: Logger; message: string },
): () => void {
  if (intervalSeconds <= 0) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    work()
      .catch((error: unknown) => onError.logger.warn({ err: error }, onError.message))
      .finally(() => {
        running = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
