import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SipClient } from 'livekit-server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/config/paths.js';
import { turnAllocate } from '../src/turn/stun.js';
import { freePortBlock, freeTcpPort, stackPortsFrom } from '../scripts/stack/ports.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
});

/** The README's first command as a new user runs it: the whole stack, embedded database. */
describe('npm start', () => {
  it('refuses a bad setting by name before it starts or writes anything', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-start-bad-')), 'data');
    const bad = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: packageRoot(),
      env: {
        ...process.env,
        GATEWAY_DATA_DIR: dataDir,
        LIVEKIT_PORT: 'seventy',
        SIP_PORT: '99999',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/not started: invalid configuration: .*LIVEKIT_PORT.*SIP_PORT/);
    expect(() => statSync(dataDir)).toThrow();
  }, 60_000);

  it('brings the stack up, provisions a Novofon trunk that LiveKit lists, and stops on Ctrl-C', async () => {
    // A folder the command makes itself, as `.data` is on a fresh clone.
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-start-')), 'data');
    const ports = stackPortsFrom(await freePortBlock(160));
    const apiPort = await freeTcpPort();
    const turnBase = await freePortBlock(50);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GATEWAY_DATA_DIR: dataDir,
      API_PORT: String(apiPort),
      REDIS_PORT: String(ports.redis),
      LIVEKIT_PORT: String(ports.livekit),
      LIVEKIT_TCP_PORT: String(ports.livekitTcp),
      LIVEKIT_UDP_START: String(ports.livekitUdpStart),
      LIVEKIT_UDP_END: String(ports.livekitUdpEnd),
      SIP_PORT: String(ports.sip),
      RTP_PORT_START: String(ports.rtpStart),
      RTP_PORT_END: String(ports.rtpEnd),
      TURN_PORT: String(turnBase),
      TURN_RELAY_START: String(turnBase + 10),
      TURN_RELAY_END: String(turnBase + 40),
      AGENT_HTTP_PORT: String(await freeTcpPort()),
      INTERNAL_PORT: String(await freeTcpPort()),
      EDGE_SIP_PORT: String(await freeTcpPort()),
      EDGE_RPC_PORT: String(await freeTcpPort()),
      SMS_SIP_PORT: String(await freeTcpPort()),
      LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
    delete env.LIVEKIT_API_KEY;
    delete env.LIVEKIT_API_SECRET;
    delete env.TURN_SECRET;
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: packageRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => resolve(code)),
    );
    const deadline = Date.now() + 150_000;
    while (!output.includes('READY') && Date.now() < deadline && proc.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(output, output).toContain('READY');
    const key = /Admin API key {2}(vgk_\S+)/.exec(output)?.[1];
    expect(key, 'the first start prints an admin key').toBeDefined();

    const api = `http://127.0.0.1:${apiPort}`;
    const created = await fetch(`${api}/api/trunks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Novofon main',
        provider: 'novofon',
        numbers: ['+74951234567'],
        allowed_addresses: ['203.0.113.10'],
      }),
    });
    expect(created.status).toBe(201);
    const trunk = (await created.json()) as { sync: { livekit_inbound_trunk_id: string } };

    const keys = JSON.parse(readFileSync(path.join(dataDir, 'livekit-keys.json'), 'utf8')) as {
      apiKey: string;
      apiSecret: string;
    };
    const sip = new SipClient(`http://127.0.0.1:${ports.livekit}`, keys.apiKey, keys.apiSecret);
    const listed = await sip.listSipInboundTrunk();
    expect(listed.map((t) => [t.sipTrunkId, t.numbers])).toEqual([
      [trunk.sync.livekit_inbound_trunk_id, ['74951234567']],
    ]);

    // The operator console is built and served, under its strict policy.
    expect(output).toContain('/console/');
    const consolePage = await fetch(`${api}/console/`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await consolePage.text()).toMatch(
      /<script type="module" crossorigin src="\/console\/assets\//,
    );

    // Web users: TURN credentials from the API pass a real Allocate on the stack's coturn, and
    // LiveKit's own config carries the same secret.
    const turn = await fetch(`${api}/api/turn/credentials?user=start-test`, {
      headers: { authorization: `Bearer ${key}` },
    }).then((r) => r.json() as Promise<{ username: string; credential: string }>);
    const allocation = await turnAllocate('127.0.0.1', turnBase, turn.username, turn.credential);
    expect(allocation.ok).toBe(true);
    const secret = readFileSync(path.join(dataDir, 'turn-secret'), 'utf8').trim();
    // The database, keys and rendered configs are for the user who started it alone.
    expect(statSync(dataDir).mode & 0o077).toBe(0);
    expect(readFileSync(path.join(dataDir, 'stack', 'livekit.yaml'), 'utf8')).toContain(secret);
    const page = await fetch(`${api}/web/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Talk to the agent');

    // The README's demo: a trunk for a local softphone and a rule; the offline agent answers.
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const local = await fetch(`${api}/api/trunks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        trunk_id: 'local',
        name: 'Local softphone',
        provider: 'generic',
        numbers: ['+15551230000'],
        allowed_addresses: ['127.0.0.1'],
      }),
    });
    expect(local.status).toBe(201);
    const rule = await fetch(`${api}/api/dispatch-rules`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'demo', type: 'individual', trunk_ids: ['local'] }),
    });
    expect(rule.status).toBe(201);
    const phone = await RtpPeer.open();
    const call = sippAgentCall({
      host: '127.0.0.1',
      port: ports.sip,
      number: '+15551230000',
      caller: '+15557300001',
      rtpPort: phone.port,
      holdMs: 8000,
    });
    try {
      const greeted = await eventually(async () => phone.heard.firstSoundAt, 20_000);
      expect(greeted, 'the offline agent did not greet the caller').toBeDefined();
      expect((await call.done).code).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }

    proc.kill('SIGINT');
    const code = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
    ]);
    expect(code).toBe(0);
    expect(output).toContain('[stack] stopped');
    await expect(fetch(`${api}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${ports.livekit}`)).rejects.toThrow();
  }, 270_000);
});
