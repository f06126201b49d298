import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { packageRoot } from '../../src/config/paths.js';
import { ensureConsoleBuilt } from '../../scripts/stack/console-build.js';
import { startLocalStack } from '../../scripts/stack/local-stack.js';
import type { StackInfo } from '../helpers/stack-info.js';
import { freePortBlock, freeTcpPort, stackPortsFrom } from '../../scripts/stack/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/**
 * Starts the real stack once for the whole run: Redis, livekit-server and livekit-sip on free
 * loopback ports. A missing or unbuildable binary fails the run with the reason; nothing skips.
 */
export default async function setup(project: TestProject) {
  await ensureConsoleBuilt(packageRoot(), (line) => console.log(`[global-stack] ${line}`));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-test-stack-'));
  const ports = stackPortsFrom(await freePortBlock(160));
  const keys = {
    apiKey: `APItest${randomBytes(4).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
  // LiveKit sends its webhooks here; a test that wants them runs its gateway on this port.
  const webhookPort = await freeTcpPort();
  const stack = await startLocalStack({
    root: packageRoot(),
    dataDir,
    ports,
    keys,
    webhookUrls: [`http://127.0.0.1:${webhookPort}/webhooks/livekit`],
    log: (line) => console.log(`[global-stack] ${line}`),
  });
  project.provide('stack', {
    livekitUrl: stack.livekitUrl,
    redisAddress: stack.redisAddress,
    sipHost: stack.sipHost,
    sipPort: stack.sipPort,
    apiKey: keys.apiKey,
    apiSecret: keys.apiSecret,
    logDir: stack.logDir,
    livekitWsUrl: stack.livekitWsUrl,
    configDir: path.dirname(stack.logDir),
    webhookPort,
  });
  return async () => {
    await stack.stop();
  };
}
