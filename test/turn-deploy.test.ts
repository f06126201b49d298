import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/config/paths.js';
import { issueTurnCredentials } from '../src/turn/credentials.js';
import { startCoturn, type Coturn } from '../scripts/stack/coturn.js';
import { freeTcpPort } from '../scripts/stack/ports.js';
import { startProcess, waitUntil, type ManagedProcess } from '../scripts/stack/processes.js';

const run = promisify(execFile);
const root = packageRoot();

describe('scripts/turn-hairpin-iptables.sh, in a network namespace of its own', () => {
  const ns = `vg-hairpin-${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, PUBLIC_IP: '203.0.113.10', TURN_TARGET: '172.18.0.4' };
  const script = (action: string) =>
    run(
      'ip',
      ['netns', 'exec', ns, 'bash', path.join(root, 'scripts/turn-hairpin-iptables.sh'), action],
      { env },
    )
      .then((r) => ({ code: 0, out: r.stdout }))
      .catch((e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }));
  const ours = async () =>
    (await run('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-S'])).stdout
      .split('\n')
      .filter((line) => line.includes('voice-gateway-turn-hairpin'));

  afterAll(async () => {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  it('adds, checks and deletes its rules idempotently, touching no others', async () => {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', [
      'netns',
      'exec',
      ns,
      'iptables',
      '-t',
      'nat',
      '-A',
      'OUTPUT',
      '-d',
      '198.51.100.1',
      '-j',
      'ACCEPT',
    ]);
    expect((await script('check')).code).toBe(1);
    expect((await script('add')).code).toBe(0);
    expect((await script('add')).code).toBe(0);
    const rules = await ours();
    expect(rules).toHaveLength(2);
    expect(rules.join('\n')).toContain('--dport 49152:49200');
    expect(rules.join('\n')).toContain('--to-destination 172.18.0.4');
    expect((await script('check')).code).toBe(0);
    expect((await script('del')).code).toBe(0);
    expect((await script('del')).code).toBe(0);
    expect(await ours()).toHaveLength(0);
    const others = (await run('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-S', 'OUTPUT']))
      .stdout;
    expect(others).toContain('198.51.100.1');
  });

  it('refuses a malformed address', async () => {
    const bad = await run('bash', [path.join(root, 'scripts/turn-hairpin-iptables.sh'), 'add'], {
      env: { ...env, PUBLIC_IP: '203.0.113' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toContain('PUBLIC_IP is not an IPv4 address');
  });
});

describe('deploy/nginx-turn-stream.conf: TURN over TLS through nginx', () => {
  let coturn: Coturn | undefined;
  let nginx: ManagedProcess | undefined;
  afterAll(async () => {
    await nginx?.stop();
    await coturn?.stop();
  });

  it('relays a TURN allocation over TLS to coturn', async () => {
    const secret = randomBytes(24).toString('base64url');
    coturn = await startCoturn(secret);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-nginx-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=turn.test',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const tlsPort = await freeTcpPort();
    // Our file, with only the deployment-specific values put in: port, coturn address, cert.
    const stream = readFileSync(path.join(root, 'deploy/nginx-turn-stream.conf'), 'utf8')
      .replace('server 127.0.0.1:3478;', `server 127.0.0.1:${coturn.port};`)
      .replace(/listen 443 ssl;/, `listen 127.0.0.1:${tlsPort} ssl;`)
      .replace(/ssl_certificate +\S+;/, `ssl_certificate ${path.join(dir, 'cert.pem')};`)
      .replace(/ssl_certificate_key +\S+;/, `ssl_certificate_key ${path.join(dir, 'key.pem')};`);
    writeFileSync(path.join(dir, 'turn-stream.conf'), stream);
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      [
        'load_module /usr/lib/nginx/modules/ngx_stream_module.so;',
        'daemon off;',
        `pid ${path.join(dir, 'nginx.pid')};`,
        'error_log stderr warn;',
        'events { worker_connections 64; }',
        `include ${path.join(dir, 'turn-stream.conf')};`,
      ].join('\n'),
    );
    nginx = startProcess('nginx', 'nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], {
      logDir: dir,
    });
    await waitUntil(
      `nginx (log: ${nginx.logFile})`,
      async () => {
        const { createConnection } = await import('node:net');
        return new Promise<boolean>((resolve) => {
          const socket = createConnection({ host: '127.0.0.1', port: tlsPort }, () => {
            socket.end();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        });
      },
      { timeoutMs: 10_000, exited: nginx.exited },
    );
    const credentials = issueTurnCredentials(secret, 'tls-user', 600);
    const allocate = (password: string) =>
      run(
        'turnutils_uclient',
        [
          '-t',
          '-S',
          '-u',
          credentials.username,
          '-w',
          password,
          '-p',
          String(tlsPort),
          '-n',
          '1',
          '-y',
          '-X',
          '-e',
          '127.0.0.1',
          '127.0.0.1',
        ],
        { timeout: 20_000 },
      )
        .then(() => 0)
        .catch((e: { code: number }) => e.code);
    expect(await allocate(credentials.credential)).toBe(0);
    expect(await allocate('wrong-credential')).not.toBe(0);
  });
});
