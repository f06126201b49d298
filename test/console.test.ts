import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { launchChromium, speechWav } from './helpers/browser.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// The operator console in Debian's Chromium against the real stack: a sipp call to the agent
// shows up live (over GET /api/events) and is hung up from the page; its history page has the
// latency chart and the recording. Screenshots of each view go to test-results/console/.

const stack = inject('stack');
const AGENT = 'console-test';
const NUMBER = '+15551250000';
const CALLER = '+15557200001';
const GREETING = 'Welcome to the console test line. Press 1 for information.';
const SHOTS = path.resolve('test-results', 'console');
const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'vg-console-recordings-'));
let gw: TestGateway;
let worker: TestAgentWorker;
let browser: Browser;
let viewerKey: string;
let profileId: string;
const pageProblems: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      RECORDINGS_DIR: recordingsDir,
      RECORDINGS_SWEEP_INTERVAL_SECONDS: '1',
    },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'console_test', [NUMBER], 'Console test trunk');
  profileId = await agentLine(gw, {
    trunkId: 'console_test',
    name: 'console-line',
    numbers: [NUMBER],
    settings: {
      mode: 'offline',
      greeting: GREETING,
      ivr: {
        prompt: 'Press 1 for information.',
        options: { '1': { say: 'Here is the information.' } },
      },
      recording: { enabled: true, retention_days: 1 },
    },
  });
  viewerKey = await gw.keyFor('viewer');
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env: { RECORDINGS_DIR: recordingsDir },
    timeoutMs: 120_000,
  });
  browser = await launchChromium(speechWav('Hello.'));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await gw?.close();
});

async function signedIn(key: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('Failed to load resource'))
      pageProblems.push(m.text());
  });
  page.on('pageerror', (e) => pageProblems.push(e.message));
  const response = await page.goto(`${gw.url}/console/`);
  expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
  await page.fill('input[name="key"]', key);
  await page.click('button[type="submit"]');
  await page.locator('#role').waitFor({ timeout: 10_000 });
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

describe('the operator console', () => {
  it('shows a live sipp call with its transcript, hangs it up, and opens its history page with the latency chart and recording', async () => {
    const admin = await signedIn(gw.adminKey);
    const viewer = await signedIn(viewerKey);
    expect(await viewer.locator('#role').innerText()).toBe('viewer');
    const phone = await RtpPeer.open();
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: NUMBER,
      caller: CALLER,
      rtpPort: phone.port,
      holdMs: 60_000,
    });
    let callId: string | null = null;
    try {
      const card = admin.locator('.live-call', { hasText: CALLER });
      await card.waitFor({ timeout: 30_000 });
      // The transcript as it happens: the agent's greeting, then the menu's answer to key 1.
      await card
        .locator('.transcript li', { hasText: 'Welcome to the console test line' })
        .waitFor({
          timeout: 20_000,
        });
      expect(await eventually(async () => phone.heard.firstSoundAt, 10_000)).toBeDefined();
      phone.pressKey('1');
      await card.locator('.transcript li', { hasText: 'Here is the information' }).waitFor({
        timeout: 20_000,
      });
      expect(await card.locator('.state').innerText()).toBe('talking');
      await shot(admin, 'live-calls');
      await admin.setViewportSize({ width: 390, height: 844 });
      await shot(admin, 'live-calls-phone');
      await admin.setViewportSize({ width: 1280, height: 900 });

      // The viewer sees the same call and none of the buttons its role may not use.
      const viewerCard = viewer.locator('.live-call', { hasText: CALLER });
      await viewerCard.waitFor({ timeout: 10_000 });
      expect(await viewerCard.locator('button').count()).toBe(0);
      expect(
        await admin
          .locator('.live-call', { hasText: CALLER })
          .locator('button', { hasText: 'Hang up' })
          .count(),
      ).toBe(1);
      await shot(viewer, 'live-calls-viewer');

      // Hold and resume from the page: the state follows over the event stream.
      await card.locator('button', { hasText: 'Hold' }).click();
      await card.locator('.state', { hasText: 'on hold' }).waitFor({ timeout: 15_000 });
      await viewerCard.locator('.state', { hasText: 'on hold' }).waitFor({ timeout: 10_000 });
      await card.locator('button', { hasText: 'Resume' }).click();
      await card.locator('.state', { hasText: 'talking' }).waitFor({ timeout: 15_000 });
      // A transfer the destination policy refuses shows the API's reason on the card.
      await card.locator('input[aria-label="Transfer to"]').fill('+882345678901');
      await card.locator('button', { hasText: 'Transfer' }).click();
      await card.locator('.error').waitFor({ timeout: 10_000 });

      callId = await card.getAttribute('data-call-id');
      await card.locator('button', { hasText: 'Hang up' }).click();
      await card.waitFor({ state: 'detached', timeout: 15_000 });
      await viewerCard.waitFor({ state: 'detached', timeout: 15_000 });
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }
    expect(callId).toBeTruthy();
    const record = await eventually(async () => {
      const r = await gw.request('GET', `/api/calls/${callId}`);
      return r.body.latency?.turns?.length > 0 &&
        r.body.events.some((e: { type: string }) => e.type === 'recording')
        ? r.body
        : undefined;
    }, 20_000);
    expect(record, 'the call record has no latency or recording').toBeDefined();
    expect(record.hung_up_by).toBe('api');

    await admin.goto(`${gw.url}/console/#/calls/${callId}`);
    await admin.locator('#latency-chart canvas').waitFor({ timeout: 10_000 });
    expect(await admin.locator('.timeline').innerText()).toContain('hangup');
    await admin.locator('button', { hasText: 'Load recording' }).click();
    const duration = await eventually(async () => {
      const d = await admin
        .locator('audio')
        .evaluate((a: { duration: number }) =>
          Number.isFinite(a.duration) && a.duration > 0 ? a.duration : null,
        )
        .catch(() => null);
      return d ?? undefined;
    }, 15_000);
    expect(duration, 'the recording did not load in the player').toBeGreaterThan(1);
    await shot(admin, 'call-page');

    // History lists it; the viewer's call page offers no replay or other actions.
    await admin.goto(`${gw.url}/console/#/calls`);
    await admin.locator('td', { hasText: CALLER }).first().waitFor({ timeout: 10_000 });
    await shot(admin, 'history');
    await viewer.goto(`${gw.url}/console/#/calls/${callId}`);
    await viewer.locator('h2', { hasText: 'Webhook deliveries' }).waitFor();
    expect(await viewer.locator('button', { hasText: 'Replay' }).count()).toBe(0);
    await admin.close();
    await viewer.close();
  }, 150_000);

  it("edits an agent profile and shows the API's validation message for a bad field", async () => {
    const page = await signedIn(gw.adminKey);
    await page.goto(`${gw.url}/console/#/agents`);
    await page.locator('a', { hasText: 'console-line' }).click();
    const settings = page.locator('textarea[name="settings"]');
    await expect.poll(async () => (await settings.inputValue()).includes('Welcome')).toBe(true);
    const current = JSON.parse(await settings.inputValue()) as Record<string, unknown>;
    await settings.fill(JSON.stringify({ ...current, silence_timeout_seconds: -5 }, null, 2));
    await page.locator('button', { hasText: 'Save' }).click();
    const error = page.locator('.error');
    await error.waitFor({ timeout: 10_000 });
    expect(await error.innerText()).toContain('silence_timeout_seconds');
    await shot(page, 'agent-validation');
    // Nothing half-written: the profile is as it was.
    const stored = await gw.request('GET', `/api/agents/${profileId}`);
    expect(stored.body.settings.silence_timeout_seconds).toBe(current.silence_timeout_seconds);
    // A good edit saves.
    await settings.fill(JSON.stringify({ ...current, silence_timeout_seconds: 45 }, null, 2));
    await page.locator('button', { hasText: 'Save' }).click();
    await page.locator('.ok', { hasText: 'Saved' }).waitFor({ timeout: 10_000 });
    expect(
      (await gw.request('GET', `/api/agents/${profileId}`)).body.settings.silence_timeout_seconds,
    ).toBe(45);
    await page.close();
  });

  it('gives a viewer key no buttons it cannot use and no views it cannot open', async () => {
    const page = await signedIn(viewerKey);
    const menu = await page.locator('nav').innerText();
    expect(menu).toContain('Live calls');
    for (const hidden of ['Diagnostics', 'API keys', 'Audit log'])
      expect(menu).not.toContain(hidden);
    for (const view of [
      'trunks',
      'numbers',
      'rules',
      'sip-users',
      'blocklist',
      'webhooks',
      'agents',
    ]) {
      await page.goto(`${gw.url}/console/#/${view}`);
      await page.locator('h1').waitFor();
      await page.locator('table, p.muted').first().waitFor({ timeout: 10_000 });
      await expect.poll(() => page.locator('.loading').count(), { timeout: 10_000 }).toBe(0);
      expect(await page.locator('main button', { hasNotText: 'Details' }).count(), view).toBe(0);
    }
    await page.goto(`${gw.url}/console/#/agents/${profileId}`);
    await page.locator('textarea[name="settings"]').waitFor();
    expect(await page.locator('textarea[name="settings"]').isDisabled()).toBe(true);
    expect(await page.locator('button', { hasText: 'Save' }).count()).toBe(0);
    // The stream and the figures need a key like every route; a wrong one gets nothing.
    for (const route of ['/api/events', '/api/stats/calls', '/api/me']) {
      expect((await fetch(`${gw.url}${route}`)).status, route).toBe(401);
      const forged = await fetch(`${gw.url}${route}`, {
        headers: { authorization: 'Bearer vgk_forged_key_000000000000' },
      });
      expect(forged.status, route).toBe(401);
    }
    // The API refuses what the page does not offer.
    expect(
      (
        await gw.request(
          'POST',
          '/api/calls/00000000-0000-0000-0000-000000000000/hangup',
          undefined,
          viewerKey,
        )
      ).status,
    ).toBe(403);
    await page.close();
  });

  it('ends the event stream of a key that is revoked while it watches', async () => {
    const key = await gw.keyFor('viewer');
    const id = (await gw.request('GET', '/api/me', undefined, key)).body.key_id as string;
    const stream = await fetch(`${gw.url}/api/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toContain('event: ready');
    expect((await gw.request('DELETE', `/api/keys/${id}`)).status).toBe(204);
    const revokedAt = Date.now();
    let received = '';
    const deadline = Date.now() + 15_000;
    for (;;) {
      const next = await Promise.race([
        reader.read(),
        new Promise<{ done: true; value: undefined }>((r) =>
          setTimeout(() => r({ done: true, value: undefined }), Math.max(0, deadline - Date.now())),
        ),
      ]);
      if (next.value) received += next.value;
      if (next.done) break;
    }
    expect(received).toContain('event: revoked');
    expect(Date.now() - revokedAt).toBeLessThan(8_000);
    expect(
      (await fetch(`${gw.url}/api/events`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(401);
  });

  it('runs diagnose and the call simulator from the page', async () => {
    const page = await signedIn(gw.adminKey);
    await page.goto(`${gw.url}/console/#/diagnostics`);
    await page.click('#run-diagnose');
    await page.locator('.findings').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('.finding').count()).toBeGreaterThan(3);
    expect(await page.locator('.findings').first().innerText()).toMatch(/Fix:|Evidence:/);
    await page.fill('input[name="caller"]', '+15557200009');
    await page.fill('input[name="called"]', NUMBER);
    await page.fill('input[name="source_ip"]', '127.0.0.1');
    await page.locator('button', { hasText: 'Simulate' }).click();
    await page.locator('.findings').nth(1).waitFor({ timeout: 20_000 });
    expect(await page.locator('.findings').nth(1).innerText()).toContain('pass');
    await shot(page, 'diagnostics');
    await page.close();
  }, 90_000);

  it('draws the charts and every provisioning view, with no script errors or CSP violations', async () => {
    const page = await signedIn(gw.adminKey);
    await page.goto(`${gw.url}/console/#/charts`);
    await page.locator('#chart-calls canvas').waitFor({ timeout: 10_000 });
    await page.locator('#chart-latency canvas').waitFor();
    await page.locator('#chart-concurrent canvas').waitFor();
    await shot(page, 'charts');
    const stats = await gw.request('GET', '/api/stats/calls?hours=6');
    const hours = stats.body.per_hour as {
      calls: { answered: number };
      turn_p50_ms: number | null;
    }[];
    expect(hours.reduce((n, h) => n + h.calls.answered, 0)).toBeGreaterThanOrEqual(1);
    expect(hours.some((h) => h.turn_p50_ms !== null)).toBe(true);
    for (const view of [
      'trunks',
      'numbers',
      'rules',
      'agents',
      'sip-users',
      'blocklist',
      'webhooks',
      'keys',
      'audit',
    ]) {
      await page.goto(`${gw.url}/console/#/${view}`);
      await page.locator('table, p.muted').first().waitFor({ timeout: 10_000 });
      await expect.poll(() => page.locator('.loading').count(), { timeout: 10_000 }).toBe(0);
      await shot(page, `view-${view}`);
    }
    expect(await page.locator('main').innerText()).toContain('call.hangup');
    await page.close();
    expect(pageProblems).toEqual([]);
  });
});
