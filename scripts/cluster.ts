/**
 * `npm run cluster`: the gateway past one machine, on loopback. Two livekit-server nodes sharing
 * one Redis, a LiveKit SIP instance on each, the SIP edge spreading calls over both instances
 * (Kamailio dispatcher with OPTIONS probes), and beside each node an API process and a call host
 * supervisor; both API processes on one PostgreSQL (DATABASE_URL, required: the embedded
 * database serves one process), both keeping the edge's admission tables. Call the edge (or
 * either SIP instance). Ctrl-C stops everything (docs/deploy.md).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../src/config/paths.js';
import { readStackEnv } from '../src/config/stack-env.js';
import { loadEncryptionKey } from '../src/db/secret-box.js';
import { startLoopbackCluster, type LoopbackCluster } from './stack/cluster.js';
import { localStackKeys } from './stack/local-stack.js';
import { freeTcpPort } from './stack/ports.js';
import { startProcess, waitUntil, type ManagedProcess } from './stack/processes.js';

const run = promisify(execFile);
const root = packageRoot();
const { gateway: gw, isSet } = readStackEnv();
const dataDir = path.resolve(isSet('GATEWAY_DATA_DIR') ? gw.GATEWAY_DATA_DIR : '.data-cluster');
const databaseUrl = gw.DATABASE_URL;
const say = (line: string) => console.log(`[cluster] ${line}`);
const tsx = [process.execPath, '--import', 'tsx'];

let cluster: LoopbackCluster | undefined;
const children: ManagedProcess[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const child of [...children].reverse()) await child.stop();
    await cluster?.stop();
  }
  process.exit(code);
}

async function main(): Promise<void> {
  if (!databaseUrl) {
    throw new Error(
      'DATABASE_URL is unset: two API processes need one PostgreSQL (e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npm run cluster)',
    );
  }
  const keys = localStackKeys(dataDir);
  const apiPorts = [gw.API_PORT, gw.API_PORT + 1];
  // The first API process takes the SMS the edge hands on; the second listens on a free port.
  const smsPort = await freeTcpPort();
  cluster = await startLoopbackCluster({
    root,
    dataDir,
    keys,
    webhookUrls: apiPorts.map((p) => `http://127.0.0.1:${p}/webhooks/livekit`),
    smsTarget: `127.0.0.1:${smsPort}`,
    log: say,
  });
  const edge = cluster.edge;
  const shared = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: databaseUrl,
    GATEWAY_ENCRYPTION_KEY: loadEncryptionKey(gw.GATEWAY_ENCRYPTION_KEY, dataDir),
    LIVEKIT_API_KEY: keys.apiKey,
    LIVEKIT_API_SECRET: keys.apiSecret,
    REDIS_URL: `redis://${cluster.redisAddress}`,
    GATEWAY_LOCAL_STACK: 'true',
    EDGE_ENABLED: 'true',
    EDGE_RPC_URL: edge.rpcUrl,
    EDGE_RPC_SECRET: edge.settings.rpcSecret,
    EDGE_CONTACT_ADDRESS: `127.0.0.1:${edge.sipPort}`,
  };
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
    { cwd: root, env: { ...shared, LIVEKIT_URL: cluster.nodes[0]!.livekitUrl } },
  );
  const created = JSON.parse(bootstrap.stdout.trim().split('\n').pop() ?? '{}') as {
    created: boolean;
    key?: string;
  };
  const lines = ['', 'Voice gateway cluster is up (all on loopback):'];
  for (const [i, node] of cluster.nodes.entries()) {
    const internalPort = await freeTcpPort();
    const hostsPort = await freeTcpPort();
    const env = {
      ...shared,
      LIVEKIT_URL: node.livekitUrl,
      API_PORT: String(apiPorts[i]),
      INTERNAL_PORT: String(internalPort),
      SIP_PUBLIC_PORT: String(node.sipPort),
      SMS_SIP_PORT: i === 0 ? String(smsPort) : '0',
      GATEWAY_DATA_DIR: path.join(dataDir, `api-${i}`),
    };
    const api = startProcess(`api-${i}`, tsx[0]!, [...tsx.slice(1), 'src/http/main.ts'], {
      logDir: node.logDir,
      env,
      cwd: root,
    });
    children.push(api);
    const apiUrl = `http://127.0.0.1:${apiPorts[i]}`;
    await waitUntil(
      `api-${i} (log: ${api.logFile})`,
      async () => (await fetch(`${apiUrl}/health`)).ok,
      {
        timeoutMs: 60_000,
        exited: api.exited,
      },
    );
    const agent = startProcess(`agent-${i}`, tsx[0]!, [...tsx.slice(1), 'src/agent/main.ts'], {
      logDir: node.logDir,
      env: {
        ...env,
        GATEWAY_API_URL: `http://127.0.0.1:${internalPort}`,
        AGENT_HTTP_PORT: String(hostsPort),
        CALL_HOSTS: '1',
      },
      cwd: root,
    });
    children.push(agent);
    await waitUntil(
      `agent-${i} (log: ${agent.logFile})`,
      async () => (await fetch(`http://127.0.0.1:${hostsPort}/`)).ok,
      { timeoutMs: 90_000, exited: agent.exited },
    );
    lines.push(
      `  node ${i}: LiveKit ${node.livekitUrl}, call in sip:<number>@127.0.0.1:${node.sipPort}, API ${apiUrl}, call hosts http://127.0.0.1:${hostsPort}/hosts`,
      `          logs ${node.logDir}`,
    );
  }
  for (const proc of [...cluster.nodes.flatMap((n) => n.processes), edge.process, ...children]) {
    void proc.exited.then((code) => {
      if (!stopping) {
        console.error(`[cluster] ${proc.name} exited (code ${code}); see ${proc.logFile}`);
        void shutdown(1);
      }
    });
  }
  lines.push(
    `  SIP edge       call in sip:<number>@127.0.0.1:${edge.sipPort}: spread over both SIP instances, probed every 2 s (log ${edge.process.logFile})`,
    `  Redis          ${cluster.redisAddress} (shared by both nodes and both SIP instances)`,
    created.created
      ? `  Admin API key  ${created.key} (shown once)`
      : '  Admin API key  made on the first start; more: npm run cli -- keys create --name you --role admin',
    '',
    'Provision through either API (README.md); calls to the edge (or to either SIP instance) reach either host.',
    'Which SIP instances the edge sends calls to: GET /api/diagnostics/sip on either API.',
    'Ctrl-C stops everything.',
    'READY',
  );
  console.log(lines.join('\n'));
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
main().catch(async (error: unknown) => {
  console.error(
    `[cluster] failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  await shutdown(1);
});
