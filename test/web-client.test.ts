import { dispose } from '@livekit/rtc-node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, speechWav } from './helpers/browser.js';
import { startCoturn, type Coturn } from '../scripts/stack/coturn.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startToneParticipant, type ToneParticipant } from './helpers/tone-participant.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const SECRET = 'web-client-turn-secret-000001';
const ROOM = 'web-agent-room';
let coturn: Coturn;
let gw: TestGateway;
let agent: ToneParticipant;
let browser: Browser;

interface PageStatus {
  state: string;
  error: string | null;
  maxLevel: number;
  firstRemoteAudioMs: number | null;
  relay: boolean;
}

beforeAll(async () => {
  coturn = await startCoturn(SECRET);
  gw = await startTestGateway({ env: { TURN_SECRET: SECRET, TURN_PORT: String(coturn.port) } });
  agent = await startToneParticipant({
    wsUrl: stack.livekitWsUrl,
    apiKey: stack.apiKey,
    apiSecret: stack.apiSecret,
    room: ROOM,
    identity: 'agent-stand-in',
    seconds: 60,
  });
  browser = await launchChromium(speechWav('Hello, I would like to check my order, please.'));
});
afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await gw?.close();
  await coturn?.stop();
  await dispose();
});

async function openJoinPage(relay: boolean): Promise<Page> {
  const link = await gw.request('POST', `/api/rooms/${ROOM}/links`, { ttl_seconds: 600 });
  expect(link.status).toBe(201);
  const page = await browser.newPage();
  await page.goto(`${gw.url}${link.body.join_url}&relay=${relay ? 1 : 0}&autojoin=1`);
  return page;
}

async function waitForPage(
  page: Page,
  done: (s: PageStatus) => boolean,
  timeoutMs: number,
): Promise<PageStatus> {
  const deadline = Date.now() + timeoutMs;
  let status = (await page.evaluate(
    () => (globalThis as unknown as { __vg: PageStatus }).__vg,
  )) as PageStatus;
  while (!done(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    status = (await page.evaluate(
      () => (globalThis as unknown as { __vg: PageStatus }).__vg,
    )) as PageStatus;
  }
  return status;
}

describe('the browser client over TURN', () => {
  it('joins in relay-only mode through coturn, hears the agent, and sends the microphone', async () => {
    const page = await openJoinPage(true);
    try {
      const status = await waitForPage(
        page,
        (s) => s.firstRemoteAudioMs !== null || s.state === 'ice-failed',
        30_000,
      );
      expect(status.error).toBeNull();
      expect(status.relay).toBe(true);
      expect(status.state).toBe('connected');
      expect(status.maxLevel).toBeGreaterThan(0.01);
      // The page publishes its microphone once connected; the agent subscribes to it.
      const heard = await eventually(
        async () => [...agent.heard].find((identity) => identity.startsWith('web-')),
        10_000,
      );
      expect(heard, 'the agent did not receive the browser microphone').toBeDefined();
      await agent.say('Hello, how can I help you today?');
      await page
        .locator('#transcript li[data-speaker="agent"]')
        .first()
        .waitFor({ timeout: 10_000 });
      expect(await page.locator('#transcript').innerText()).toContain(
        'agent: Hello, how can I help you today?',
      );
    } finally {
      await page.close();
    }
  });

  it('with TURN stopped, reports an ICE failure and why, instead of hanging', async () => {
    await coturn.stop();
    const page = await openJoinPage(true);
    try {
      const status = await waitForPage(page, (s) => s.state === 'ice-failed', 25_000);
      expect(status.state).toBe('ice-failed');
      expect(status.error).toContain('ICE failed');
      expect(status.error).toMatch(/TURN server gave no relay address/);
      expect(await page.locator('#error').isVisible()).toBe(true);
    } finally {
      await page.close();
    }
  });
});
