import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * A speech WAV made with espeak-ng, 48 kHz mono, for Chromium's fake microphone (which plays
 * it in a loop), after `leadingSilenceSeconds` of silence.
 */
export function speechWav(text: string, options: { leadingSilenceSeconds?: number } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-speech-'));
  const raw = path.join(dir, 'raw.wav');
  const wav = path.join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-w', raw, text]);
  const pad = options.leadingSilenceSeconds
    ? ['pad', String(options.leadingSilenceSeconds), '0']
    : [];
  execFileSync('sox', ['-G', raw, '-r', '48000', '-c', '1', '-b', '16', wav, ...pad]);
  return wav;
}

/**
 * Debian's Chromium, headless, with the flags that keep it on loopback (no background
 * networking, no component updates) and a fake microphone playing `wav`. Playwright gives each
 * launch a new, empty profile.
 */
export function launchChromium(wav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Resolve nothing but loopback, and no mDNS host candidates (multicast on the LAN).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
