import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { startLocalStack } from '../scripts/stack/local-stack.js';
import { freePortBlock, stackPortsFrom } from '../scripts/stack/ports.js';
import { offlineCallCost, printOfflineCallCost } from './offline-calls.js';

/**
 * LiveKit on free loopback ports, then BENCH_OFFLINE_CALLS (5,10) offline calls answered by one
 * process, as OfflineTalkers, as bare participants (the baseline) and as AgentSessions, each for
 * BENCH_OFFLINE_SECONDS (30).
 */
export async function runOfflineCallBench(): Promise<void> {
  const levels = (process.env.BENCH_OFFLINE_CALLS ?? '5,10').split(',').map(Number);
  const seconds = Number(process.env.BENCH_OFFLINE_SECONDS ?? 30);
  const keys = {
    apiKey: `APIbench${randomBytes(3).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  const stack = await startLocalStack({
    root: packageRoot(),
    dataDir: mkdtempSync(path.join(os.tmpdir(), 'vg-bench-offline-')),
    ports: stackPortsFrom(await freePortBlock(160)),
    keys,
  });
  try {
    const target = { livekitWsUrl: stack.livekitWsUrl, ...keys };
    for (const calls of levels) {
      // BENCH_OFFLINE_MODES picks (and orders) the hosts: talker,bare,session by default.
      const modes = (process.env.BENCH_OFFLINE_MODES ?? 'talker,bare,session').split(',');
      const results = [];
      for (const mode of modes) {
        if (mode !== 'talker' && mode !== 'bare' && mode !== 'session') {
          throw new Error(`BENCH_OFFLINE_MODES: talker, bare or session, got ${mode}`);
        }
        results.push(await offlineCallCost(target, mode, calls, seconds));
      }
      printOfflineCallCost(results);
    }
  } finally {
    await stack.stop();
  }
}
