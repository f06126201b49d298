import { defineAgent, type JobContext, type JobProcess } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { runCall } from './call-session.js';
import { GatewayApi } from './gateway-api.js';
import { loadOfflineProfile } from './offline-profile.js';
import { PHONE_VAD_SILENCE_MS } from './voice-session.js';

const config = loadConfig();
const logger = createLogger({
  level: config.log.level,
  redactPii: config.log.redactPii,
  name: 'voice-gateway-agent',
});
const offlineProfile = loadOfflineProfile(config.agent.offlineProfile);
const api = new GatewayApi(config.agent.gatewayApiUrl, config.livekit.apiSecret);

/** Each job process loads the VAD once, before it is given a call (idle processes are warm). */
export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    proc.userData.vad = await silero.VAD.load({
      // Phone audio is 8 kHz; the model's 8 kHz mode costs 0.83 of its 16 kHz mode (bench).
      sampleRate: 8000,
      minSilenceDuration: PHONE_VAD_SILENCE_MS,
      minSpeechDuration: 100,
    });
  },
  entry: async (ctx: JobContext) => {
    await runCall(ctx, {
      vad: ctx.proc.userData.vad as silero.VAD,
      api,
      livekit: config.livekit,
      offlineProfile,
      logger,
      recordingsDir: config.recordings.dir,
      holdMusicFile: config.agent.holdMusicFile,
    });
  },
});
