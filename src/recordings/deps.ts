import type { GatewayConfig, Logger } from '../config/index.js';
import type { Db, SecretBox } from '../db/index.js';
import type { RecordingDeps } from './store.js';

/** The recordings area's dependencies; the link key is derived from the encryption key. */
export function recordingDeps(
  config: Pick<GatewayConfig, 'recordings'>,
  db: Db,
  box: SecretBox,
  logger: Logger,
): RecordingDeps {
  return {
    db,
    dir: config.recordings.dir,
    linkKey: box.deriveKey('recording-links'),
    linkTtlSeconds: config.recordings.linkTtlSeconds,
    publicApiUrl: config.recordings.publicApiUrl,
    logger,
  };
}
