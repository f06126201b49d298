/** `npm run agent`: the call hosts (src/callhost), one per core unless CALL_HOSTS says. */
import { loadConfig } from '../config/index.js';
import { createLogger } from '../kernel/logger.js';
import { assertStrongLivekitSecret } from '../config/livekit-secret.js';
import { runSupervisor } from '../callhost/supervisor.js';
import { loadOfflineProfile } from './offline-profile.js';

const config = loadConfig();
assertStrongLivekitSecret(config);
const logger = createLogger({
  level: config.log.level,
  redactPii: config.log.redactPii,
  name: 'voice-gateway-agent',
});
// A broken offline profile stops the supervisor at once, not each host in a restart loop.
loadOfflineProfile(config.agent.offlineProfile);
runSupervisor({
  hosts: config.agent.hosts,
  httpPort: config.agent.httpPort,
  httpHost: config.agent.httpHost,
  capacity: config.agent.hostCapacity,
  livekit: config.livekit,
  log: logger,
});
