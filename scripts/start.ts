/**
 * `npm start`: the whole local stack on loopback. Redis, livekit-server and livekit-sip (built on
 * first run), the embedded database unless DATABASE_URL is set, and the API. Ctrl-C stops all.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadEncryptionKey } from '../src/db/secret-box.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { packageRoot } from '../src/config/paths.js';
import { readStackEnv } from '../src/config/stack-env.js';
import { ensureConsoleBuilt } from './stack/console-build.js';
import { digestAlgorithmsFrom } from '../src/edge/kamailio-config.js';
import { startEdge, type EdgeProcess } from './stack/kamailio.js';
import { localStackKeys, startLocalStack, type LocalStack } from './stack/local-stack.js';
import { startProcess, waitUntil, type ManagedProcess } from './stack/processes.js';

const run = promisify(execFile);

function commandExists(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(':')
    .some((dir) => dir && existsSync(path.join(dir, command)));
}

/** A random secret kept in the data folder (owner-only), made on first use. */
function localSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
const root = packageRoot();
const env = process.env;
// Every value through the config schemas: a bad one stops here, naming the variable.
const {
  gateway: gw,
  stack: local,
  isSet,
} = (() => {
  try {
    return readStackEnv(env);
  } catch (error) {
    console.error(`[stack] not started: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
})();
const dataDir = path.resolve(gw.GATEWAY_DATA_DIR);
const stackDir = path.join(dataDir, 'stack');
// The database, keys and logs (which carry room names) are the owner's alone.
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
chmodSync(dataDir, 0o700);
const say = (line: string) => console.log(`[stack] ${line}`);

const ports = {
  redis: local.REDIS_PORT,
  livekit: local.LIVEKIT_PORT,
  livekitTcp: local.LIVEKIT_TCP_PORT,
  livekitUdpStart: local.LIVEKIT_UDP_START,
  livekitUdpEnd: local.LIVEKIT_UDP_END,
  sip: local.SIP_PORT,
  rtpStart: local.RTP_PORT_START,
  rtpEnd: local.RTP_PORT_END,
};
const apiPort = gw.API_PORT;
const internalPort = gw.INTERNAL_PORT;

let embedded: EmbeddedPostgres | undefined;
let stack: LocalStack | undefined;
const children: ManagedProcess[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping');
    for (const child of [...children].reverse()) await child.stop();
    await stack?.stop();
    await embedded?.close();
    rmSync(path.join(stackDir, 'database-url'), { force: true });
    rmSync(path.join(stackDir, 'env.json'), { force: true });
    say('stopped');
  }
  process.exit(code);
}

async function main() {
  mkdirSync(stackDir, { recursive: true });
  let databaseUrl = gw.DATABASE_URL;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(dataDir);
    databaseUrl = embedded.url;
    writeFileSync(path.join(stackDir, 'database-url'), databaseUrl, { mode: 0o600 });
    say(`embedded database in ${path.join(dataDir, 'pglite')}`);
  }
  await migrate(databaseUrl);
  const encryptionKey = loadEncryptionKey(gw.GATEWAY_ENCRYPTION_KEY, dataDir);
  const keys =
    isSet('LIVEKIT_API_KEY') && isSet('LIVEKIT_API_SECRET')
      ? { apiKey: gw.LIVEKIT_API_KEY, apiSecret: gw.LIVEKIT_API_SECRET }
      : localStackKeys(dataDir);

  // coturn when it is installed: web users behind strict NATs relay through it (TURN).
  const turnSecret = commandExists('turnserver')
    ? (gw.TURN_SECRET ?? localSecret(path.join(dataDir, 'turn-secret')))
    : undefined;
  if (!turnSecret)
    say('coturn is not installed (apt-get install coturn): web users get no TURN relay');
  const turnPort = gw.TURN_PORT;

  stack = await startLocalStack({
    root,
    dataDir,
    ports,
    keys,
    redisAddress: local.REDIS_ADDRESS,
    webhookUrls: [`http://127.0.0.1:${apiPort}/webhooks/livekit`],
    turn: turnSecret
      ? {
          port: turnPort,
          secret: turnSecret,
          relayPorts: [local.TURN_RELAY_START, local.TURN_RELAY_END],
        }
      : undefined,
    log: say,
  });
  say(
    `livekit-server ${stack.livekitUrl}, livekit-sip sip:${stack.sipHost}:${stack.sipPort}, redis ${stack.redisAddress}`,
  );

  // The SIP edge (Kamailio) when it is installed, unless EDGE_ENABLED=false (docs/edge.md).
  let edge: EdgeProcess | undefined;
  // On unless EDGE_ENABLED says otherwise (the gateway's own default is off).
  const edgeWanted = !isSet('EDGE_ENABLED') || gw.EDGE_ENABLED;
  if (commandExists('kamailio') && edgeWanted) {
    // Optional like coturn: a busy port or a broken install leaves the rest of the stack up.
    edge = await startEdge({
      livekitHost: stack.sipHost,
      livekitPort: stack.sipPort,
      sipPort: local.EDGE_SIP_PORT,
      rpcPort: local.EDGE_RPC_PORT,
      // Where the edge hands texts to the API (docs/sms.md).
      smsTarget: `127.0.0.1:${gw.SMS_SIP_PORT}`,
      dir: path.join(stackDir, 'edge'),
      logDir: stack.logDir,
      sipUsersRealm: gw.SIP_USERS_REALM,
      digestMd5First: gw.EDGE_DIGEST_MD5_FIRST,
      digestAlgorithms: digestAlgorithmsFrom(gw.EDGE_DIGEST_ALGORITHMS),
      modulesDir: gw.KAMAILIO_MODULES_DIR,
    }).catch((error: unknown) => {
      say(`SIP edge not started: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
    if (edge) children.push(edge.process);
  } else if (edgeWanted) {
    say('kamailio is not installed (apt-get install kamailio): no SIP edge, no registrations');
  }

  const childEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    ...(embedded && { DATABASE_POOL_MAX: '1' }),
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_ENCRYPTION_KEY: encryptionKey,
    LIVEKIT_URL: stack.livekitUrl,
    LIVEKIT_API_KEY: keys.apiKey,
    LIVEKIT_API_SECRET: keys.apiSecret,
    API_PORT: String(apiPort),
    INTERNAL_PORT: String(internalPort),
    // LiveKit is on loopback here: a weak LIVEKIT_API_SECRET of your own is tolerated.
    GATEWAY_LOCAL_STACK: 'true',
    SIP_PUBLIC_PORT: String(isSet('SIP_PUBLIC_PORT') ? gw.SIP_PUBLIC_PORT : ports.sip),
    REDIS_URL: gw.REDIS_URL ?? `redis://${stack.redisAddress}`,
    ...(turnSecret ? { TURN_SECRET: turnSecret, TURN_PORT: String(turnPort) } : {}),
    ...(edge && {
      EDGE_ENABLED: 'true',
      EDGE_RPC_URL: edge.rpcUrl,
      EDGE_RPC_SECRET: edge.settings.rpcSecret,
      EDGE_CONTACT_ADDRESS: `127.0.0.1:${edge.sipPort}`,
      EDGE_SOURCE_ADDRESS: '127.0.0.1',
      SMS_SIP_HOST: '127.0.0.1',
      SMS_SIP_PORT: String(gw.SMS_SIP_PORT),
      ...(embedded && { EDGE_SOLE_INSTANCE: 'true' }),
    }),
  };
  // The CLI (diagnose, reconcile, keys) run beside this stack reads the same settings.
  const shared = Object.fromEntries(
    Object.entries(childEnv).filter(([k]) =>
      /^(DATABASE_URL|REDIS_URL|GATEWAY_|LIVEKIT_|SIP_|TURN_|API_|EDGE_)/.test(k),
    ),
  );
  writeFileSync(path.join(stackDir, 'env.json'), JSON.stringify(shared), { mode: 0o600 });
  const tsx = [process.execPath, '--import', 'tsx'];
  const bootstrap = await run(
    tsx[0]!,
    [
      ...tsx.slice(1),
      'src/cli/main.ts',
      'keys',
      'create',
      '--name',
      'bootstrap-admin',
      '--role',
      'admin',
      '--if-none',
      '--json',
    ],
    { cwd: root, env: childEnv },
  );
  const created = JSON.parse(bootstrap.stdout.trim().split('\n').pop() ?? '{}') as {
    created: boolean;
    key?: string;
  };

  await ensureConsoleBuilt(root, say);
  const api = startProcess('api', tsx[0]!, [...tsx.slice(1), 'src/http/main.ts'], {
    logDir: stack.logDir,
    env: childEnv,
    cwd: root,
  });
  children.push(api);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  await waitUntil(`api (log: ${api.logFile})`, async () => (await fetch(`${apiUrl}/health`)).ok, {
    timeoutMs: 30_000,
    exited: api.exited,
  });

  // The call hosts answer calls (the offline profile unless a rule names another): a supervisor
  // with one host process per core (CALL_HOSTS), each taking many calls.
  const agent = startProcess('agent', tsx[0]!, [...tsx.slice(1), 'src/agent/main.ts'], {
    logDir: stack.logDir,
    env: {
      ...childEnv,
      GATEWAY_API_URL: internalUrl,
      AGENT_HTTP_PORT: String(gw.AGENT_HTTP_PORT),
    },
    cwd: root,
  });
  children.push(agent);
  await waitUntil(
    `call hosts (log: ${agent.logFile})`,
    async () => (await fetch(`http://127.0.0.1:${gw.AGENT_HTTP_PORT}/`)).ok,
    { timeoutMs: 60_000, exited: agent.exited },
  );

  for (const proc of [...stack.processes, ...children]) {
    void proc.exited.then((code) => {
      if (!stopping) {
        console.error(`[stack] ${proc.name} exited (code ${code}); see ${proc.logFile}`);
        void shutdown(1);
      }
    });
  }

  const lines = [
    '',
    'Voice gateway is up (all on loopback):',
    `  API            ${apiUrl}   (health: ${apiUrl}/health; metrics: ${internalUrl}/metrics, internal listener)`,
    `  Call in        sip:<number>@${stack.sipHost}:${stack.sipPort}  (UDP/TCP, LiveKit SIP)`,
    edge
      ? `  SIP edge       sip:127.0.0.1:${edge.sipPort} (Kamailio: registrations, flood/brute-force protection; docs/edge.md)`
      : '  SIP edge       off (kamailio not installed, or EDGE_ENABLED=false)',
    `  LiveKit        ${stack.livekitUrl}  (key ${keys.apiKey})`,
    `  Call hosts     ${gw.AGENT_NAME} (offline profile: deploy/agent-offline.yaml; hosts: http://127.0.0.1:${gw.AGENT_HTTP_PORT}/hosts)`,
    `  Web client     ${apiUrl}/web/  (join links: POST /api/rooms/<room>/links)`,
    `  Console        ${apiUrl}/console/  (sign in with an API key; docs/console.md)`,
    turnSecret
      ? `  TURN           turn:127.0.0.1:${turnPort} (coturn, secret in ${path.join(dataDir, 'turn-secret')})`
      : '  TURN           off (coturn not installed)',
    `  Logs           ${stack.logDir}`,
    created.created
      ? `  Admin API key  ${created.key}\n                 (shown once; only its hash is stored. More keys: npm run cli -- keys create --name you --role admin)`
      : '  Admin API key  created on first start; make another with: npm run cli -- keys create --name you --role admin',
    '',
    'Try it:',
    `  curl -s -X POST ${apiUrl}/api/trunks -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\`,
    `    -d '{"name":"Novofon main","provider":"novofon","numbers":["+74951234567"],"allowed_addresses":["203.0.113.10"]}'`,
    '  (203.0.113.10 stands for the address your provider calls from; or give inbound_username/inbound_password)',
    `  npm run diagnose        checks the whole stack and names what is wrong`,
    '',
    'Ctrl-C stops everything.',
    'READY',
  ];
  console.log(lines.join('\n'));
}

// on, not once: tsx relays a Ctrl-C it sees to this process again, and a second SIGINT with no
// listener would kill it in the middle of stopping the stack.
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
main().catch(async (error: unknown) => {
  console.error(
    `[stack] failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  await shutdown(1);
});
