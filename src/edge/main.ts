/**
 * The SIP edge as a process of its own (containers: docker-compose.yml, the Helm chart):
 * renders deploy/kamailio/edge.cfg from the gateway's environment and runs kamailio in the
 * foreground, passing stop signals on. `--check` asks the running edge's JSON-RPC for its
 * version instead (a health check), exiting 0 when it answers. `npm start` and the tests start
 * the edge themselves (scripts/stack/kamailio.ts).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../kernel/logger.js';
import { livekitInstancesFrom, writeEdgeConfig } from './kamailio-config.js';
import { EdgeRpc } from './rpc.js';

const config = loadConfig();
const log = createLogger({ level: config.log.level, redactPii: config.log.redactPii });
const secret = config.edge.rpcSecret;
if (!secret) {
  log.fatal('EDGE_RPC_SECRET is unset: the edge needs the secret the gateway calls it with');
  process.exit(2);
}

if (process.argv.includes('--check')) {
  const version = await new EdgeRpc(config.edge.rpcUrl, secret, 3000)
    .call<string>('core.version')
    .catch(() => '');
  process.exit(version ? 0 : 1);
}

/** "ip:port" or "[v6]:port" into its parts. */
function split(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return {
    host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(at + 1)),
  };
}

const listen = split(config.edge.sipListen);
// One LiveKit SIP address, or several (comma-separated): the edge spreads calls over them.
const livekitSip = livekitInstancesFrom(config.edge.livekitSipAddress);
const rpc = new URL(config.edge.rpcUrl);
const contact = config.edge.contactAddress;
const configFile = writeEdgeConfig({
  sipListenIp: listen.host,
  sipPort: listen.port,
  // Providers reach it at EDGE_CONTACT_ADDRESS: advertised when it is not the listen address.
  advertise: contact === config.edge.sipListen ? undefined : contact,
  rpcIp: rpc.hostname.replace(/^\[(.*)\]$/, '$1'),
  rpcPort: Number(rpc.port || 80),
  rpcSecret: secret,
  livekitHost: livekitSip[0]!.host,
  livekitPort: livekitSip[0]!.port,
  livekitInstances: livekitSip,
  probeIntervalSeconds: config.edge.livekitProbeSeconds,
  smsTarget: `${config.sms.sipHost}:${config.sms.sipPort}`,
  sipUsersRealm: config.sipUsers.realm,
  dir: path.join(config.dataDir, 'edge'),
  modulesDir: config.edge.modulesDir,
});
const runDir = path.join(config.dataDir, 'edge', 'run');
mkdirSync(runDir, { recursive: true });
log.info(
  { listen: config.edge.sipListen, livekitSip: config.edge.livekitSipAddress },
  'edge starting',
);
const kamailio = spawn(
  'kamailio',
  ['-f', configFile, '-DD', '-E', '-Y', runDir, '-P', path.join(runDir, 'kamailio.pid')],
  { stdio: 'inherit' },
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => kamailio.kill(signal));
}
kamailio.once('exit', (code, signal) => {
  log.info({ code, signal }, 'edge exited');
  process.exit(code ?? 1);
});
