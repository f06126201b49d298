import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config/index.js';
import { envSchema } from '../src/config/schema.js';
import { packageRoot } from '../src/config/paths.js';
import { ACTIVE_CALLS_METRIC } from '../src/callhost/supervisor.js';

// The deploy files, checked without a Docker engine or a cluster: docker-compose.yml through
// compose-go (the Compose specification's loader: its JSON schema, interpolation and consistency
// checks), the Helm chart through `helm lint` and `helm template`. Both tools are built by
// scripts/setup.sh into ~/.cache/voice-gateway/bin.

const run = promisify(execFile);
const root = packageRoot();
const bin = path.join(os.homedir(), '.cache', 'voice-gateway', 'bin');
const composeCheck = path.join(bin, 'compose-check');
const helm = path.join(bin, 'helm');
const chart = path.join(root, 'deploy', 'helm', 'voice-gateway');
const configKeys = new Set(Object.keys(envSchema.shape));

/** What an operator's .env gives compose (placeholders of the right shape). */
const dotEnv = {
  POSTGRES_PASSWORD: 'a1b2c3',
  GATEWAY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  LIVEKIT_API_SECRET: 'f'.repeat(64),
  TURN_SECRET: 'e'.repeat(64),
  EDGE_RPC_SECRET: 'd'.repeat(48),
  EDGE_HOST_IP: '192.0.2.10',
  EDGE_CONTACT_ADDRESS: '198.51.100.7:5070',
};

interface ComposeService {
  image?: string;
  command?: string[] | null;
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: { type: string; source: string; target: string }[];
  network_mode?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
}

async function composeProject(env: Record<string, string>) {
  const { stdout } = await run(composeCheck, [path.join(root, 'docker-compose.yml')], {
    env: { PATH: process.env.PATH, ...env },
  });
  return JSON.parse(stdout) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
}

/** Go's duration text (15m30s) in seconds. */
function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+)([hms])/g)];
  return parts.reduce((s, [, n, u]) => s + Number(n) * { h: 3600, m: 60, s: 1 }[u as 'h'], 0);
}

const ourServices = ['api', 'agent', 'edge'] as const;

describe('docker-compose.yml', () => {
  it('loads under the Compose specification, with every process of npm start', async () => {
    expect(existsSync(composeCheck), 'run scripts/setup.sh (it builds compose-check)').toBe(true);
    const project = await composeProject(dotEnv);
    expect(Object.keys(project.services).sort()).toEqual(
      ['agent', 'api', 'coturn', 'edge', 'livekit', 'livekit-sip', 'postgres', 'redis'].sort(),
    );
    for (const [name, service] of Object.entries(project.services)) {
      expect(service.healthcheck?.test?.length, `${name} has a health check`).toBeGreaterThan(1);
      expect(service.healthcheck?.disable, name).not.toBe(true);
    }
    // The gateway's three processes are one image, three commands.
    expect(project.services.agent!.command).toEqual(['node', 'dist/src/agent/main.js']);
    expect(project.services.edge!.command).toEqual(['node', 'dist/src/edge/main.js']);
    // State survives a restart: named volumes for the database, Redis, the data and recordings.
    const mounts = (name: string) =>
      (project.services[name]!.volumes ?? []).filter((v) => v.type === 'volume');
    expect(mounts('postgres').map((v) => v.target)).toEqual(['/var/lib/postgresql/data']);
    expect(mounts('redis').map((v) => v.target)).toEqual(['/data']);
    expect(mounts('api').map((v) => v.source)).toEqual(['api-data', 'recordings']);
    expect(mounts('agent').map((v) => v.source)).toEqual(['recordings']);
    expect(mounts('edge').map((v) => v.source)).toEqual(['edge-data']);
    expect(Object.keys(project.volumes).sort()).toEqual(
      ['api-data', 'edge-data', 'postgres', 'recordings', 'redis'].sort(),
    );
  });

  it('refuses to start without each secret, naming it', async () => {
    const missing = await composeProject({}).then(
      () => '',
      (error: { stderr: string }) => error.stderr,
    );
    for (const name of Object.keys(dotEnv))
      expect(missing).toContain(`variable ${name} is missing`);
  });

  it("sets for the gateway's services only variables its config reads, and their configs load", async () => {
    const { services } = await composeProject(dotEnv);
    for (const name of ourServices) {
      const env = services[name]!.environment ?? {};
      const unknown = Object.keys(env).filter((k) => !configKeys.has(k));
      expect(unknown, `${name} sets variables nothing reads`).toEqual([]);
      const values = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v ?? '']));
      expect(() => loadConfig(values), name).not.toThrow();
    }
    const api = services.api!.environment!;
    const agent = services.agent!.environment!;
    const edge = services.edge!.environment!;
    // Without REDIS_URL no customer webhook is ever delivered.
    expect(api.REDIS_URL).toBe('redis://127.0.0.1:6379');
    for (const key of ['DATABASE_URL', 'GATEWAY_ENCRYPTION_KEY', 'LIVEKIT_API_SECRET'])
      expect(api[key], key).toBeTruthy();
    // The processes point at each other.
    expect(agent.GATEWAY_API_URL).toBe(`http://127.0.0.1:${api.INTERNAL_PORT}`);
    expect(agent.LIVEKIT_API_SECRET).toBe(api.LIVEKIT_API_SECRET);
    expect(edge.EDGE_RPC_URL).toBe(api.EDGE_RPC_URL);
    expect(edge.EDGE_RPC_SECRET).toBe(api.EDGE_RPC_SECRET);
    expect(edge.EDGE_SIP_LISTEN).toBe(`${api.EDGE_SOURCE_ADDRESS}:5070`);
    expect(`${edge.SMS_SIP_HOST}:${edge.SMS_SIP_PORT}`).toBe(
      `${api.SMS_SIP_HOST}:${api.SMS_SIP_PORT}`,
    );
    expect(api.RECORDINGS_DIR).toBe(agent.RECORDINGS_DIR);
    // Docker waits out the call hosts' drain before it kills them.
    expect(seconds(services.agent!.stop_grace_period!)).toBeGreaterThan(
      Number(agent.CALL_HOST_DRAIN_SECONDS),
    );
  });

  it('matches the LiveKit configs it mounts: one key pair, one Redis, webhooks to the API', async () => {
    const { services } = await composeProject(dotEnv);
    const api = services.api!.environment!;
    const server = parse(readFileSync(path.join(root, 'deploy/compose/livekit.yaml'), 'utf8'));
    const sip = parse(readFileSync(path.join(root, 'deploy/compose/livekit-sip.yaml'), 'utf8'));
    expect(Object.keys(server.keys)).toEqual([api.LIVEKIT_API_KEY]);
    expect(server.webhook.api_key).toBe(api.LIVEKIT_API_KEY);
    expect(sip.api_key).toBe(api.LIVEKIT_API_KEY);
    expect(sip.redis.address).toBe(server.redis.address);
    // Hosts are offered calls until full, not until 70% full (LiveKit's default target load).
    expect(server.agents.target_load).toBe(1);
    expect(`redis://${server.redis.address}`).toBe(api.REDIS_URL);
    expect(server.webhook.urls).toEqual([`http://127.0.0.1:${api.API_PORT}/webhooks/livekit`]);
    expect(`${sip.sip_port}`).toBe(
      services.edge!.environment!.EDGE_LIVEKIT_SIP_ADDRESS!.split(':')[1],
    );
  });
});

describe('the Dockerfile', () => {
  it("runtime image carries espeak-ng, ffmpeg and kamailio, and the edge's template", () => {
    const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    const install = /apt-get install[^\n]*(?:\\\n[^\n]*)*/.exec(runtime)?.[0] ?? '';
    for (const pkg of ['espeak-ng', 'ffmpeg', 'kamailio']) expect(install).toContain(pkg);
    expect(runtime).toContain('COPY deploy/kamailio ./deploy/kamailio');
    expect(runtime).toContain('COPY deploy/agent-offline.yaml');
  });
});

// What an operator passes: no secret among them (those come from Secrets).
const chartValues = {
  'secrets.existingSecret': 'voice-gateway',
  'livekit.url': 'http://livekit-server:7880',
  'redis.address': 'redis-master:6379',
  'coturn.host': 'turn.example.com',
  'sip.edge.contactAddress': '198.51.100.7:5070',
  'sip.edge.sourceAddress': '10.0.0.5',
};
const setArgs = (values: Record<string, string>) => [
  '--set',
  Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(','),
];

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface K8sObject {
  kind: string;
  metadata: { name: string };
  spec?: {
    template?: {
      spec: {
        containers: Container[];
        hostNetwork?: boolean;
        terminationGracePeriodSeconds?: number;
      };
    };
    metrics?: { type: string; pods?: { metric: { name: string } } }[];
    scaleTargetRef?: { name: string };
  };
  data?: Record<string, string>;
}

async function render(values: Record<string, string>): Promise<K8sObject[]> {
  const { stdout } = await run(helm, ['template', 'vg', chart, ...setArgs(values)]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => Boolean(o));
}

describe('the Helm chart', () => {
  it('passes helm lint', async () => {
    expect(existsSync(helm), 'run scripts/setup.sh (it builds helm)').toBe(true);
    const { stdout } = await run(helm, ['lint', '--strict', chart, ...setArgs(chartValues)]);
    expect(stdout).toContain('0 chart(s) failed');
  });

  it('refuses to render without the Secret, naming the value', async () => {
    const values: Record<string, string> = { ...chartValues };
    delete values['secrets.existingSecret'];
    const error = await render(values).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(error).toContain('secrets.existingSecret');
  });

  it('renders every part: API with HPA, call hosts with HPA on active calls and a drain, SIP and coturn on the node network', async () => {
    const objects = await render(chartValues);
    const named = (kind: string, suffix: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === `vg-voice-gateway-${suffix}`);
    for (const part of ['api', 'callhosts', 'sip', 'coturn']) {
      expect(named('Deployment', part), part).toBeDefined();
      expect(named('PodDisruptionBudget', part), part).toBeDefined();
    }
    expect(named('HorizontalPodAutoscaler', 'api')!.spec!.scaleTargetRef!.name).toBe(
      'vg-voice-gateway-api',
    );
    const callsHpa = named('HorizontalPodAutoscaler', 'callhosts')!;
    expect(callsHpa.spec!.metrics).toEqual([
      expect.objectContaining({
        type: 'Pods',
        pods: expect.objectContaining({ metric: { name: 'voice_gateway_callhost_active_calls' } }),
      }),
    ]);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      for (const c of d.spec!.template!.spec.containers) {
        expect(c.readinessProbe, `${d.metadata.name}/${c.name} readiness`).toBeDefined();
        expect(c.livenessProbe, `${d.metadata.name}/${c.name} liveness`).toBeDefined();
      }
    }
    const sip = named('Deployment', 'sip')!.spec!.template!.spec;
    expect(sip.hostNetwork).toBe(true);
    expect(sip.containers.map((c) => c.name)).toEqual(['livekit-sip', 'edge']);
    expect(named('Deployment', 'coturn')!.spec!.template!.spec.hostNetwork).toBe(true);

    const hosts = named('Deployment', 'callhosts')!.spec!.template!.spec;
    const hostEnv = Object.fromEntries(
      (hosts.containers[0]!.env ?? []).map((e) => [e.name, e.value]),
    );
    expect(hosts.containers[0]!.lifecycle?.preStop?.exec?.command.join(' ')).toContain(
      'kill -TERM 1',
    );
    expect(hosts.terminationGracePeriodSeconds).toBeGreaterThan(
      Number(hostEnv.CALL_HOST_DRAIN_SECONDS),
    );
    expect(hostEnv.GATEWAY_API_URL).toBe('http://vg-voice-gateway-api-internal:8082');
  });

  it("prometheus-adapter's rule serves the HPA's metric from the series the call hosts expose", async () => {
    const hpa = (await render(chartValues)).find(
      (o) =>
        o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'vg-voice-gateway-callhosts',
    )!;
    const wanted = (hpa.spec!.metrics as { pods: { metric: { name: string } } }[])[0]!.pods.metric
      .name;
    const adapter = parse(
      readFileSync(path.join(root, 'deploy', 'helm', 'prometheus-adapter-values.yaml'), 'utf8'),
    ) as {
      rules: {
        custom: {
          seriesQuery: string;
          resources: { overrides: Record<string, { resource: string }> };
          name: { matches: string; as: string };
        }[];
      };
    };
    const rule = adapter.rules.custom.find((r) => r.name.as === wanted);
    expect(rule, `no adapter rule serves ${wanted}`).toBeDefined();
    expect(rule!.seriesQuery.split('{')[0]).toBe(ACTIVE_CALLS_METRIC);
    expect(new RegExp(rule!.name.matches).test(ACTIVE_CALLS_METRIC)).toBe(true);
    // A Pods metric: the series must map to pods (and their namespace).
    expect(rule!.resources.overrides.pod?.resource).toBe('pod');
    expect(rule!.resources.overrides.namespace?.resource).toBe('namespace');
  });

  it('puts no secret in a pod spec, and sets only variables the config reads', async () => {
    const objects = await render(chartValues);
    const secretish = /SECRET|PASSWORD|ENCRYPTION_KEY|DATABASE_URL|_API_KEY$/;
    const gatewayContainers = new Set(['api', 'callhosts', 'edge']);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      for (const c of d.spec!.template!.spec.containers) {
        for (const e of c.env ?? []) {
          if (secretish.test(e.name) && e.name !== 'LIVEKIT_API_KEY') {
            expect(e.value, `${c.name} ${e.name} inline`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef, `${c.name} ${e.name}`).toBeDefined();
          }
          if (gatewayContainers.has(c.name) && e.name !== 'NODE_IP')
            expect(configKeys.has(e.name), `${c.name} sets ${e.name}, which nothing reads`).toBe(
              true,
            );
        }
      }
    }
    // The only Secret the chart writes holds generated values, none taken from the values.
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(secrets.map((s) => s.metadata.name)).toEqual(['vg-voice-gateway-generated']);
    const data = secrets[0]!.data!;
    expect(Object.keys(data).sort()).toEqual(
      ['CALL_WEBHOOK_SECRET', 'EDGE_RPC_SECRET', 'GATEWAY_ENCRYPTION_KEY', 'TURN_SECRET'].sort(),
    );
    const key = Buffer.from(
      Buffer.from(data.GATEWAY_ENCRYPTION_KEY!, 'base64').toString(),
      'base64',
    );
    expect(key).toHaveLength(32);
    // Two renders, two different secrets: generated, not fixed in the chart.
    const again = (await render(chartValues)).find((o) => o.kind === 'Secret')!.data!;
    expect(again.TURN_SECRET).not.toBe(data.TURN_SECRET);
  });
});
