export {
  DEFAULT_PROMPT_CACHE_BYTES,
  FIXED_LINES,
  PROMPT_RATE,
  PromptCache,
  profilePrompts,
  renderPrompt,
} from './prompt-cache.js';
export type { PromptCacheStats, PromptRenderer, PromptVoice } from './prompt-cache.js';
export { PROMPT_TRACK_NAME, PromptPlayer } from './prompt-player.js';
export type { Playback } from './prompt-player.js';
export { SpeechDetector, defaultSpeechDetectorOptions } from './speech-detector.js';
export type { SpeechDetectorOptions, SpeechEvent } from './speech-detector.js';
export { espeakVoiceFor } from './espeak.js';
export { OfflineTalker } from './offline-talker.js';
export type { OfflineTalkerEvents, SayOptions, SpeechHandle } from './offline-talker.js';
export { LISTEN_RATE } from './caller-listener.js';
