import { spawn } from 'node:child_process';

/** espeak-ng writes 16-bit mono WAV at this rate, whatever the voice. */
export const ESPEAK_RATE = 22_050;
/** The speaking rate EspeakTTS uses (words per minute), so both paths sound the same. */
const WORDS_PER_MINUTE = '165';
const MAX_TEXT_CHARS = 4000;

/** espeak-ng's voice for a BCP 47 tag (EspeakTTS uses it too): en-US -> en-us, ru-RU -> ru. */
export function espeakVoiceFor(language: string, voice?: string): string {
  if (voice) return voice;
  const tag = language.toLowerCase();
  return tag.startsWith('en-') ? tag : tag.split('-')[0]!;
}

/** The samples after a WAV file's "data" chunk header (espeak-ng writes 16-bit mono). */
function wavSamples(wav: Buffer): Int16Array {
  const at = wav.indexOf('data', 12, 'ascii');
  if (wav.toString('ascii', 0, 4) !== 'RIFF' || at < 0) {
    throw new Error('espeak-ng did not write a WAV file');
  }
  const pcm = wav.subarray(at + 8);
  // Copied: the WAV buffer's offset into its pool need not be 2-byte aligned.
  const samples = new Int16Array(pcm.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = pcm.readInt16LE(i * 2);
  return samples;
}

/**
 * Speaks `text` with the local espeak-ng into mono 16-bit samples at ESPEAK_RATE. Kept apart
 * from EspeakTTS so the offline call path does not load the agents framework.
 */
export function renderWithEspeak(
  text: string,
  voice: string,
  signal?: AbortSignal,
): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    const args = [
      '--stdout',
      '-v',
      voice,
      '-s',
      WORDS_PER_MINUTE,
      '--',
      text.slice(0, MAX_TEXT_CHARS),
    ];
    const child = spawn('espeak-ng', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal && { signal }),
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`espeak-ng exited with ${code}: ${stderr.trim().slice(0, 200)}`));
        return;
      }
      try {
        resolve(wavSamples(Buffer.concat(chunks)));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}
