/**
 * A call host: one process serving many calls (see docs/agents.md). Started by the supervisor
 * (src/agent/main.ts, one host per core) or alone.
 */
import { initializeLogger } from '@livekit/agents';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST_BEAT_MS } from '../contract/index.js';
import { loadConfig } from '../config/index.js';
import { packageRoot } from '../config/paths.js';
import { createLogger } from '../kernel/logger.js';
import { GatewayApi } from '../agent/gateway-api.js';
import { loadOfflineProfile } from '../agent/offline-profile.js';
import { SpokenCache } from '../agent/spoken-cache.js';
import { VadPool } from '../agent/vad-pool.js';
import { PromptCache } from '../agent/offline/index.js';
import { routeUncaughtErrors } from './call-isolation.js';
import { answerMetricsRequests, hostCapacity } from './host-metrics.js';
import { CallHost } from './host.js';

const config = loadConfig();
const logger = createLogger({
  level: config.log.level,
  redactPii: config.log.redactPii,
  name: 'voice-gateway-callhost',
});
// A broken offline profile is a startup error, not a failure on the first call.
const offlineProfile = loadOfflineProfile(config.agent.offlineProfile);
// The agents library (AgentSession in pipeline and offline mode) logs through its own logger.
initializeLogger({
  pretty: false,
  level: config.log.level === 'silent' ? 'fatal' : config.log.level,
});

routeUncaughtErrors({
  fatal(error) {
    logger.fatal({ err: error }, 'uncaught error outside any call; the host exits');
    process.exit(1);
  },
  stray(error) {
    logger.error({ err: error }, 'error outside any call; the host goes on');
  },
});

const vads = new VadPool();
const prompts = new PromptCache();
// Loaded while the host registers, not before: a busy machine takes many seconds for these,
// and a call that comes first waits only for what it needs (the same promise).
void vads.warm().catch((error: unknown) => logger.error({ err: error }, 'VAD could not be loaded'));
void prompts
  .warm(offlineProfile)
  .catch((error: unknown) => logger.error({ err: error }, 'offline prompts could not be rendered'));

const api = new GatewayApi(config.agent.gatewayApiUrl, config.livekit.apiSecret);
const host = new CallHost({
  agentName: config.agent.name,
  capacity: config.agent.hostCapacity,
  log: logger,
  deps: {
    vads,
    spoken: new SpokenCache(),
    prompts,
    api,
    livekit: config.livekit,
    offlineProfile,
    logger,
    recordingsDir: config.recordings.dir,
    ffmpegPath: config.recordings.ffmpegPath,
    holdMusicFile: config.agent.holdMusicFile,
  },
});

hostCapacity.set(config.agent.hostCapacity);
answerMetricsRequests();

/** Tells the supervisor (when there is one) how this host is doing. */
const tellSupervisor = () =>
  process.send?.({
    registered: host.registered,
    activeCalls: host.activeCalls,
    calls: host.calls(),
  });

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info(
    { signal, activeCalls: host.activeCalls, maxSeconds: config.agent.drainSeconds },
    'call host draining',
  );
  void host
    .drain(config.agent.drainSeconds * 1000)
    .then((outcome) => {
      if (outcome === 'deadline') {
        // Exiting with calls on: the supervisor removes this host's agents from their rooms,
        // and the API's agent recovery sends each call an agent on another host.
        logger.warn({ activeCalls: host.activeCalls }, 'drain time is up; exiting with calls on');
      } else logger.info('call host drained; exiting');
    })
    .finally(() => process.exit(0));
};
// on, not once: a second signal while draining must not kill the host before its calls end.
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('disconnect', () => stop('supervisor gone'));

logger.info(
  { agent: config.agent.name, capacity: config.agent.hostCapacity },
  'call host starting',
);
const version = (
  JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
).version;
const hostId = `${os.hostname()}:${process.pid}`;
/** Tells the API this host is up (GET /api/config/status); a missed beat is only logged. */
const beat = () =>
  api
    .hostBeat({
      host_id: hostId,
      agent_name: config.agent.name,
      registered: host.registered,
      draining: host.draining,
      active_calls: host.activeCalls,
      capacity: config.agent.hostCapacity,
      version,
      livekit_server_version: host.livekitServerVersion ?? null,
    })
    .catch((error: unknown) => logger.debug({ err: error }, 'host beat not delivered'));

await host.start();
tellSupervisor();
void beat();
setInterval(() => void beat(), HOST_BEAT_MS).unref();
// Often: if this host dies, the supervisor frees its calls' rooms for the agents taking over.
setInterval(tellSupervisor, 500).unref();
