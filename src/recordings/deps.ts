import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import type { Db, SecretBox } from '../db/index.js';
import { recordingBucket, type RecordingBucket } from './s3.js';

/** What the recording area works with: storage, the link key and its settings. */
export interface RecordingDeps {
  db: Db;
  dir: string;
  /** Set with RECORDINGS_STORAGE=s3: finished recordings move there. */
  bucket: RecordingBucket | undefined;
  linkKey: Buffer;
  linkTtlSeconds: number;
  publicApiUrl: string;
  logger: Logger;
}

/**
 * The recordings area's dependencies; the link key is derived from the encryption key. The
 * bucket's client is one per configuration, shared by the routes and the sweep.
 */
export function recordingDeps(
  config: Pick<GatewayConfig, 'recordings'>,
  db: Db,
  box: SecretBox,
  logger: Logger,
): RecordingDeps {
  return {
    db,
    dir: config.recordings.dir,
    bucket: config.recordings.s3 && recordingBucket(config.recordings.s3),
    linkKey: box.deriveKey('recording-links'),
    linkTtlSeconds: config.recordings.linkTtlSeconds,
    publicApiUrl: config.recordings.publicApiUrl,
    logger,
  };
}
