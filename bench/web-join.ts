import { dispose } from '@livekit/rtc-node';
import { launchChromium, speechWav } from '../test/helpers/browser.js';
import { startToneParticipant } from '../test/helpers/tone-participant.js';
import type { BenchEnv } from './setup.js';

interface PageStatus {
  state: string;
  firstRemoteAudioMs: number | null;
  error: string | null;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Page load to the first audible sample of the agent, in headless Chromium, direct (all ICE
 * candidates) vs relay only (through coturn); `runs` of each, interleaved.
 */
export async function webJoinTimes(env: BenchEnv, runs: number) {
  const room = 'bench-web-join';
  const agent = await startToneParticipant({
    wsUrl: env.stack.livekitWsUrl,
    apiKey: env.stack.keys.apiKey,
    apiSecret: env.stack.keys.apiSecret,
    room,
    identity: 'agent-stand-in',
    seconds: 300,
  });
  const browser = await launchChromium(speechWav('Hello, this is a join time test.'));
  const times: Record<'direct' | 'relay', number[]> = { direct: [], relay: [] };
  try {
    const headers = { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' };
    for (let run = 0; run < runs; run += 1) {
      for (const mode of ['direct', 'relay'] as const) {
        const link = (await fetch(`${env.apiUrl}/api/rooms/${room}/links`, {
          method: 'POST',
          headers,
          body: '{}',
        }).then((r) => r.json())) as { join_url: string };
        const page = await browser.newPage();
        await page.goto(
          `${env.apiUrl}${link.join_url}&relay=${mode === 'relay' ? 1 : 0}&autojoin=1`,
        );
        const deadline = Date.now() + 30_000;
        let status: PageStatus = { state: '', firstRemoteAudioMs: null, error: null };
        while (Date.now() < deadline) {
          status = (await page.evaluate(
            () => (globalThis as unknown as { __vg: PageStatus }).__vg,
          )) as PageStatus;
          if (status.firstRemoteAudioMs !== null || status.error) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await page.close();
        if (status.firstRemoteAudioMs === null) {
          throw new Error(`${mode} join heard no agent audio: ${status.error ?? status.state}`);
        }
        times[mode].push(status.firstRemoteAudioMs);
      }
    }
  } finally {
    await browser.close();
    await agent.stop();
    await dispose();
  }
  return { direct: median(times.direct), relay: median(times.relay) };
}
