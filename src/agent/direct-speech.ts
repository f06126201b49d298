import { AudioFrame, type AudioSource, type Room } from '@livekit/rtc-node';
import { publishAudioSource } from './audio-track.js';
import type { EspeakTTS } from './espeak-tts.js';

const SAMPLE_RATE = 22050;
const FRAME = SAMPLE_RATE / 50;

/**
 * Speaks on a track of its own, outside the voice session: the path for the apology when the
 * session itself failed (its STT, LLM or TTS may be what broke).
 */
export async function speakDirectly(room: Room, tts: EspeakTTS, text: string): Promise<void> {
  const { source, close } = await publishAudioSource(room, 'agent-fallback', SAMPLE_RATE, 1000);
  try {
    await speakOn(source, tts, text);
    await source.waitForPlayout();
  } finally {
    await close();
  }
}

/**
 * Says `text` (espeak-ng, 22.05 kHz) on a published source, 20 ms at a time, while `going()`
 * holds.
 */
export async function speakOn(
  source: AudioSource,
  tts: EspeakTTS,
  text: string,
  going: () => boolean = () => true,
): Promise<void> {
  const pcm = await tts.pcm(text, AbortSignal.timeout(10_000));
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.byteLength / 2));
  for (let at = 0; at < samples.length && going(); at += FRAME) {
    const chunk = new Int16Array(FRAME);
    chunk.set(samples.subarray(at, at + FRAME));
    await source.captureFrame(new AudioFrame(chunk, SAMPLE_RATE, 1, FRAME));
  }
}
