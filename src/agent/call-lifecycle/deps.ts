import type { Logger } from '../../kernel/logger.js';
import type { GatewayApi } from '../gateway-api.js';
import type { PromptCache } from '../offline/index.js';
import type { ProfileSettings } from '../profile.js';
import type { LivekitCredentials } from '../telephony.js';
import type { SpokenCache } from '../spoken-cache.js';
import type { VadPool } from '../vad-pool.js';

/** What the host gives each of its calls: its shared parts and how to reach the API and LiveKit. */
export interface CallDeps {
  /** The host's VADs, one per silence window, shared by its calls. */
  vads: VadPool;
  /** The host's scripted lines as the pipeline's TTS said them, shared by its calls. */
  spoken: SpokenCache;
  /** The host's rendered prompts (offline calls), shared by its calls. */
  prompts: PromptCache;
  api: GatewayApi;
  livekit: LivekitCredentials;
  offlineProfile: ProfileSettings;
  logger: Logger;
  recordingsDir: string;
  /** The ffmpeg recordings are converted with (LIVEKIT_FFMPEG_PATH). */
  ffmpegPath: string;
  holdMusicFile: string | undefined;
}
