import { DeepgramStandin } from '../standins/deepgram.js';
import { ElevenlabsStandin } from '../standins/elevenlabs.js';
import { OpenaiStandin } from '../standins/openai.js';

/** The operator's allowance for the test key names and the stand-ins' host (key-policy.ts). */
export const PROVIDER_POLICY = {
  AGENT_PROVIDER_KEY_ENVS: 'TEST_DEEPGRAM_KEY,TEST_OPENAI_KEY,TEST_ELEVEN_KEY',
  AGENT_PROVIDER_HOSTS: '127.0.0.1',
};

/** The call host's environment: the policy and the (fake) keys the profiles name. */
export const PROVIDER_KEYS = {
  ...PROVIDER_POLICY,
  TEST_DEEPGRAM_KEY: 'dg-test-key',
  TEST_OPENAI_KEY: 'sk-test-key',
  TEST_ELEVEN_KEY: 'xi-test-key',
};

export interface PipelineProviders {
  openai: OpenaiStandin;
  deepgram: DeepgramStandin;
  elevenlabs: ElevenlabsStandin;
  close(): Promise<void>;
}

/**
 * Local stand-ins for the paid STT, LLM and TTS APIs (test/standins): Deepgram hears
 * `transcript`, the LLM answers `chatReply`, ElevenLabs speaks a tone per character.
 */
export async function startPipelineProviders(options: {
  chatReply: string;
  transcript: string;
}): Promise<PipelineProviders> {
  const [openai, deepgram, elevenlabs] = await Promise.all([
    OpenaiStandin.start({ chatReply: options.chatReply }),
    DeepgramStandin.start({ transcript: options.transcript, endpointSilenceMs: 300 }),
    ElevenlabsStandin.start(),
  ]);
  return {
    openai,
    deepgram,
    elevenlabs,
    close: async () => {
      await Promise.all([openai.close(), deepgram.close(), elevenlabs.close()]);
    },
  };
}

/** A pipeline profile's settings with the real plugins pointed at the stand-ins. */
export function pipelineSettings(
  providers: PipelineProviders,
  profile: { greeting: string; system_prompt: string },
) {
  return {
    mode: 'pipeline',
    ...profile,
    stt: {
      provider: 'deepgram',
      base_url: providers.deepgram.url,
      api_key_env: 'TEST_DEEPGRAM_KEY',
    },
    llm: { provider: 'openai', base_url: providers.openai.url, api_key_env: 'TEST_OPENAI_KEY' },
    tts: {
      provider: 'elevenlabs',
      base_url: providers.elevenlabs.url,
      api_key_env: 'TEST_ELEVEN_KEY',
      encoding: 'pcm_16000',
    },
  };
}
