import { every } from '../kernel/periodic.js';
import { sweepRetention, type RetentionDeps } from './sweep.js';

export { sweepRetention, type RetentionDeps, type RetentionSettings } from './sweep.js';

/** Sweeps personal data past its retention every `intervalSeconds` (0: never); returns the stop. */
export function startRetentionSweep(deps: RetentionDeps, intervalSeconds: number): () => void {
  return every(intervalSeconds, () => sweepRetention(deps), {
    logger: deps.logger,
    message: 'retention sweep failed',
  });
}
