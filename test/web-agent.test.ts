import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCoturn, type Coturn } from '../scripts/stack/coturn.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { launchChromium, speechWav } from './helpers/browser.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { eventually } from './helpers/wait.js';

// A web user opens a join link that names an agent profile: the call hosts' agent is sent into
// the room, greets them (the page hears it), and answers what the fake microphone says.

const stack = inject('stack');
const SECRET = 'web-agent-turn-secret-0000001';
const AGENT = 'web-agent-test';
const GREETING = 'Hello from the web agent. How can I help you today?';
const REPLY = 'Thank you. I have noted your order number.';
let coturn: Coturn;
let gw: TestGateway;
let worker: TestAgentWorker;
let browser: Browser;

interface PageStatus {
  state: string;
  error: string | null;
  maxLevel: number;
  firstRemoteAudioMs: number | null;
  relay: boolean;
  agent: { profile_id: string; profile_name: string } | null;
}

beforeAll(async () => {
  coturn = await startCoturn(SECRET);
  gw = await startTestGateway({
    // On the port LiveKit sends its webhooks to: the web call gets a call record.
    env: {
      API_PORT: String(stack.webhookPort),
      TURN_SECRET: SECRET,
      TURN_PORT: String(coturn.port),
      AGENT_NAME: AGENT,
    },
  });
  const profile = await gw.request('POST', '/api/agents', {
    name: 'web-greeter',
    settings: { mode: 'offline', greeting: GREETING, replies: [REPLY] },
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    timeoutMs: 120_000,
  });
  // Silence first, so the agent's greeting is over before the user speaks.
  browser = await launchChromium(
    speechWav('Hello, my order number is four five six.', { leadingSilenceSeconds: 6 }),
  );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await gw?.close();
  await coturn?.stop();
});

async function pageStatus(page: Page): Promise<PageStatus> {
  return (await page.evaluate(
    () => (globalThis as unknown as { __vg: PageStatus }).__vg,
  )) as PageStatus;
}

describe('a web user talks to an agent', () => {
  it('refuses a join or link naming an agent profile that does not exist, and a viewer sending one', async () => {
    const join = await gw.request('POST', '/api/rooms/web-nobody/join', {
      agent_profile: 'no-such-profile',
    });
    expect(join.status).toBe(400);
    expect(join.body.message).toContain('agent_profile: no agent profile "no-such-profile"');
    const link = await gw.request('POST', '/api/rooms/web-nobody/links', {
      agent_profile: 'no-such-profile',
    });
    expect(link.status).toBe(400);
    const viewer = await gw.keyFor('viewer');
    const byViewer = await gw.request(
      'POST',
      '/api/rooms/web-nobody/join',
      { agent_profile: 'web-greeter' },
      viewer,
    );
    expect(byViewer.status).toBe(403);
    expect(byViewer.body.error).toBe('agent_forbidden');
  });

  it('relay-only through coturn: the agent greets the web user and answers what they say', async () => {
    const room = 'web-agent-room-1';
    const link = await gw.request('POST', `/api/rooms/${room}/links`, {
      ttl_seconds: 600,
      agent_profile: 'web-greeter',
    });
    expect(link.status, JSON.stringify(link.body)).toBe(201);
    const page = await browser.newPage();
    try {
      await page.goto(`${gw.url}${link.body.join_url}&relay=1&autojoin=1`);
      const deadline = Date.now() + 30_000;
      let status = await pageStatus(page);
      while (status.firstRemoteAudioMs === null && !status.error && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = await pageStatus(page);
      }
      expect(status.error).toBeNull();
      expect(status.relay).toBe(true);
      expect(status.agent?.profile_name).toBe('web-greeter');
      expect(status.maxLevel, 'the page heard no agent audio').toBeGreaterThan(0.01);
      const transcript = page.locator('#transcript');
      await page
        .locator('#transcript li[data-speaker="agent"]', { hasText: GREETING })
        .waitFor({ timeout: 15_000 });
      // The fake microphone speaks after its silence; the offline agent answers with its reply.
      await page
        .locator('#transcript li[data-speaker="agent"]', { hasText: REPLY })
        .waitFor({ timeout: 30_000 });
      expect(await transcript.innerText()).toContain(`agent: ${REPLY}`);
      // One agent per room: joining again sends no second one.
      const again = await gw.request('POST', `/api/rooms/${room}/join`, {
        agent_profile: 'web-greeter',
      });
      expect(again.status).toBe(200);
      expect(again.body.agent.created).toBe(false);
    } finally {
      await page.close();
    }
    // The web call is in the call history like a phone call, with what the agent said.
    const record = await eventually(async () => {
      const list = await gw.request('GET', `/api/calls?channel=web&status=ended`);
      const call = (list.body.items as { id: string; room_name: string }[]).find(
        (c) => c.room_name === room,
      );
      if (!call) return undefined;
      const full = await gw.request('GET', `/api/calls/${call.id}`);
      const said = JSON.stringify(full.body.transcript);
      return said.includes(REPLY) ? full.body : undefined;
    }, 20_000);
    expect(record, 'no ended web call record with the transcript').toBeDefined();
    expect(record.channel).toBe('web');
    expect(record.agent_profile_id).not.toBeNull();
  });
});
