import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { packageRoot } from '../src/config/paths.js';
import { createDb, type Db } from '../src/db/index.js';
import { ensureConsoleBuilt } from '../scripts/stack/console-build.js';
import { launchChromium, speechWav } from '../test/helpers/browser.js';
import { startBenchApi, type BenchEnv } from './setup.js';

const CALLS = Number(process.env.BENCH_CONSOLE_CALLS ?? 20);
const WINDOW_MS = Number(process.env.BENCH_CONSOLE_WINDOW_MS ?? 15_000);
const LOAD_RUNS = Number(process.env.BENCH_CONSOLE_LOADS ?? 5);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat; after "pid (comm) " they are 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Reads the main-thread task time of a page so far (s), from the DevTools protocol. */
async function pageTaskMeter(page: Page): Promise<() => Promise<number>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  return async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
  };
}

/**
 * `CALLS` live calls whose records change as the call hosts' live reports change them: every
 * second each call's transcript grows by a line (what a talking call's host reports, at most
 * once a second). Written straight to the database, the same for both views.
 */
async function liveCalls(db: Db) {
  const ids = Array.from({ length: CALLS }, () => randomUUID());
  const now = new Date();
  await db
    .insertInto('calls')
    .values(
      ids.map((id, i) => ({
        id,
        roomName: `bench-console-${i}`,
        participantIdentity: `sip_+1555100${String(i).padStart(4, '0')}`,
        direction: 'inbound' as const,
        channel: 'sip',
        status: 'active' as const,
        fromNumber: `+1555100${String(i).padStart(4, '0')}`,
        toNumber: '+15551230000',
        startedAt: now,
        answeredAt: now,
      })),
    )
    .execute();
  const lines = new Map(
    ids.map((id) => [id, [] as { at: string; speaker: string; text: string }[]]),
  );
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    void Promise.all(
      ids.map((id) => {
        const t = lines.get(id)!;
        t.push({
          at: new Date().toISOString(),
          speaker: n % 2 ? 'agent' : 'caller',
          text: `line ${n}`,
        });
        return db
          .updateTable('calls')
          .set({ transcript: JSON.stringify(t.slice(-40)), updatedAt: new Date() })
          .where('id', '=', id)
          .execute();
      }),
    );
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await db
        .updateTable('calls')
        .set({ status: 'ended', endedAt: new Date(), updatedAt: new Date() })
        .where('id', 'in', ids)
        .execute();
    },
  };
}

/** A signed-in console tab: the key is put in sessionStorage before the page's scripts run. */
async function consoleTab(browser: Browser, url: string, key: string) {
  const context = await browser.newContext();
  await context.addInitScript(
    (k) =>
      (
        globalThis as unknown as { sessionStorage: { setItem(a: string, b: string): void } }
      ).sessionStorage.setItem('vg-console-key', k),
    key,
  );
  const page = await context.newPage();
  return { context, page, open: () => page.goto(url) };
}

/** Page load to a signed-in live view whose stream is connected, cold cache each time (ms). */
async function firstLoads(browser: Browser, apiUrl: string, key: string): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < LOAD_RUNS; run += 1) {
    const tab = await consoleTab(browser, `${apiUrl}/console/#/live`, key);
    const started = Date.now();
    await tab.open();
    await tab.page.locator('.pill.ok', { hasText: 'live' }).waitFor({ timeout: 30_000 });
    times.push(Date.now() - started);
    await tab.context.close();
  }
  return times;
}

/** CPU the page and the API spend per second while a view shows the live calls. */
async function viewCost(
  calls: { stop(): Promise<void> },
  browser: Browser,
  apiUrl: string,
  apiPid: number,
  key: string,
  poll: boolean,
) {
  const tab = await consoleTab(browser, `${apiUrl}/console/${poll ? '?poll=1' : ''}#/live`, key);
  await tab.open();
  await tab.page
    .locator('.live-call')
    .nth(CALLS - 1)
    .waitFor({ timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 2000));
  const pageTasks = await pageTaskMeter(tab.page);
  const page0 = await pageTasks();
  const api0 = cpuSeconds(apiPid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const seconds = (Date.now() - t0) / 1000;
  const page = (await pageTasks()) - page0;
  const api = cpuSeconds(apiPid) - api0;
  const shown = await tab.page.locator('.live-call').count();
  await tab.context.close();
  await calls.stop();
  return { pageMsPerS: (page * 1000) / seconds, apiMsPerS: (api * 1000) / seconds, shown };
}

function bundleBytes(): number {
  const dir = path.join(packageRoot(), 'dist', 'console', 'assets');
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

/**
 * The console: first load (page to a signed-in live view with its stream connected), and the
 * live-calls view with CALLS calls changing every second, over the event stream vs the same
 * view reading the API with plain fetches each second; CPU of the page and of an API process
 * of its own, in the same run.
 */
export async function printConsoleBench(env: BenchEnv): Promise<void> {
  await ensureConsoleBuilt(packageRoot(), (line) => console.log(`[bench] ${line}`));
  const api = await startBenchApi('console-api', env.dataDir, env.apiEnv);
  const db = createDb(env.databaseUrl, 4);
  const browser = await launchChromium(speechWav('Console bench.'));
  try {
    const loads = await firstLoads(browser, api.url, env.adminKey);
    const runs: Record<'stream' | 'poll', { pageMsPerS: number; apiMsPerS: number }[]> = {
      stream: [],
      poll: [],
    };
    {
      for (let round = 0; round < 2; round += 1) {
        for (const mode of ['stream', 'poll'] as const) {
          // A fresh set of calls each window: the calls reconcile leaves a record without a
          // LiveKit room alone for its first 30 s only.
          const calls = await liveCalls(db);
          const cost = await viewCost(
            calls,
            browser,
            api.url,
            api.process.child.pid!,
            env.adminKey,
            mode === 'poll',
          );
          if (cost.shown !== CALLS)
            throw new Error(`the ${mode} view showed ${cost.shown} of ${CALLS} calls`);
          runs[mode].push(cost);
        }
      }
    }
    const avg = (xs: { pageMsPerS: number; apiMsPerS: number }[], k: 'pageMsPerS' | 'apiMsPerS') =>
      xs.reduce((n, x) => n + x[k], 0) / xs.length;
    console.log(
      `\nConsole: first load, cold cache (bundle ${(bundleBytes() / 1024).toFixed(0)} KiB, not gzipped)`,
    );
    console.log(
      `  page to signed-in live view, stream connected: p50 ${median(loads).toFixed(0)} ms of ${LOAD_RUNS} (min ${Math.min(...loads)}, max ${Math.max(...loads)})`,
    );
    console.log(
      `\nLive-calls view, ${CALLS} calls each changing every second (${WINDOW_MS / 1000} s windows, 2 of each, interleaved)`,
    );
    console.log(`  ${'view'.padEnd(26)} ${'page ms/s'.padStart(10)} ${'API ms/s'.padStart(10)}`);
    for (const mode of ['stream', 'poll'] as const) {
      const label = mode === 'stream' ? 'event stream (/api/events)' : 'polled fetch every 1 s';
      console.log(
        `  ${label.padEnd(26)} ${avg(runs[mode], 'pageMsPerS').toFixed(1).padStart(10)} ${avg(runs[mode], 'apiMsPerS').toFixed(1).padStart(10)}`,
      );
    }
    console.log(
      `  stream / poll: page ${(avg(runs.stream, 'pageMsPerS') / avg(runs.poll, 'pageMsPerS')).toFixed(2)}x, API ${(avg(runs.stream, 'apiMsPerS') / avg(runs.poll, 'apiMsPerS')).toFixed(2)}x`,
    );
  } finally {
    await browser.close();
    await db.destroy();
    await api.process.stop();
  }
}
