import { AgentServer, ServerOptions, initializeLogger } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../config/logger.js';
import { assertStrongLivekitSecret } from '../config/livekit-secret.js';
import { loadOfflineProfile } from './offline-profile.js';

const config = loadConfig();
assertStrongLivekitSecret(config);
const logger = createLogger({
  level: config.log.level,
  redactPii: config.log.redactPii,
  name: 'voice-gateway-agent',
});
// A broken offline profile is a startup error, not a failure on the first call.
loadOfflineProfile(config.agent.offlineProfile);

initializeLogger({
  pretty: false,
  level: config.log.level === 'silent' ? 'fatal' : config.log.level,
});

const server = new AgentServer(
  new ServerOptions({
    agent: fileURLToPath(new URL('./job.js', import.meta.url)).replace(/\.js$/, importExtension()),
    agentName: config.agent.name,
    wsURL: config.livekit.url.replace(/^http/, 'ws'),
    apiKey: config.livekit.apiKey,
    apiSecret: config.livekit.apiSecret,
    numIdleProcesses: config.agent.idleProcesses,
    // Loading the VAD takes a second on an idle core and much longer on a busy one.
    initializeProcessTimeout: 60_000,
    loadFunc: async (worker) => Math.min(1, worker.activeJobs.length / config.agent.maxCalls),
    loadThreshold: 1,
    host: '127.0.0.1',
    port: config.agent.httpPort,
    production: true,
    logLevel: config.log.level,
  }),
);

/** Running from source (tsx) the job module is job.ts; compiled it is job.js. */
function importExtension(): string {
  return import.meta.url.endsWith('.ts') ? '.ts' : '.js';
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'agent worker draining');
  // Draining waits for live calls; with none, closing at once also stops the job processes the
  // pool is still warming, which would otherwise outlive the worker.
  (server.activeJobs.length > 0 ? server.drain(30_000) : Promise.resolve())
    .catch(() => undefined)
    .then(() => server.close())
    .finally(() => process.exit(0));
};
// on, not once: a second signal while draining (a supervisor relaying Ctrl-C) must not kill
// the worker before its calls end; stop() runs once.
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

logger.info({ agent: config.agent.name }, 'agent worker starting');
await server.run();
