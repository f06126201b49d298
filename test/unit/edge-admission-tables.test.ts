import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { buildAdmission, registrarKey } from '../../src/edge/admission.js';
import { renderEdgeConfig, rpcTokenDigest } from '../../src/edge/kamailio-config.js';

const trunk = {
  id: 't1',
  allowedAddresses: ['203.0.113.7', '198.51.100.0/24'],
  inboundUsername: null,
  callsPerSecondLimit: 3,
  preferredCodecs: [] as string[],
  register: false,
  registrar: null,
  proxyAddress: null,
  proxyPort: null,
  numbers: ['+15550102000'],
};

describe('edge admission tables', () => {
  it("keys numbers by digits and lists each trunk's addresses, ranges, auth, CPS and codecs", async () => {
    const t = await buildAdmission([
      { ...trunk, preferredCodecs: ['PCMA', 'G722'] },
      {
        ...trunk,
        id: 't2',
        allowedAddresses: [],
        inboundUsername: 'pbx',
        callsPerSecondLimit: null,
        numbers: [],
      },
      {
        ...trunk,
        id: 't3',
        allowedAddresses: [],
        callsPerSecondLimit: null,
        register: true,
        registrar: '192.0.2.5:5080',
        numbers: ['+15550102001'],
      },
      // Digest auth and addresses: the source must match as well.
      { ...trunk, id: 't4', inboundUsername: 'pbx', callsPerSecondLimit: null, numbers: [] },
    ]);
    expect(Object.fromEntries(t.numtrunk)).toEqual({ '15550102000': 't1', '15550102001': 't3' });
    expect([...t.anytrunk.keys()]).toEqual(['t2', 't4']);
    expect(Object.fromEntries(t.trunkadm)).toEqual({
      't1::cps': 3,
      't1::codecs': 'PCMA,G722',
      't1::ip::203.0.113.7': 1,
      't1::nets': '198.51.100.0/24',
      't2::auth': 1,
      't3::ip::192.0.2.5': 1,
      't4::ip::203.0.113.7': 1,
      't4::nets': '198.51.100.0/24',
    });
    expect([...t.srcaddr.keys()].sort()).toEqual(['192.0.2.5', '203.0.113.7']);
    expect(t.srcnet.get('nets')).toBe('198.51.100.0/24');
    expect([...t.registrar.keys()]).toEqual(['192.0.2.5:5080']);
    expect([...t.regcontact.keys()]).toEqual(['t3']);
  });

  it('keys registrars as host:port, 5060 by default', () => {
    expect(registrarKey('SIP.Example.com')).toBe('sip.example.com:5060');
    expect(registrarKey('sip.example.com:5080')).toBe('sip.example.com:5080');
    expect(registrarKey('[2001:db8::1]:5062')).toBe('[2001:db8::1]:5062');
  });
});

describe('edge JSON-RPC secret', () => {
  it('is required with the edge and never written into the rendered config', () => {
    expect(() => loadConfig({ EDGE_ENABLED: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ EDGE_ENABLED: 'true' })).toThrow(/EDGE_RPC_SECRET/);
    expect(() => loadConfig({ EDGE_ENABLED: 'true', EDGE_RPC_SECRET: 'short' })).toThrow(
      /EDGE_RPC_SECRET/,
    );
    const secret = 'a-long-enough-shared-secret';
    const text = renderEdgeConfig({
      sipListenIp: '127.0.0.1',
      sipPort: 5070,
      rpcIp: '127.0.0.1',
      rpcPort: 5090,
      rpcSecret: secret,
      livekitHost: '127.0.0.1',
      livekitPort: 5060,
      dir: mkdtempSync(path.join(os.tmpdir(), 'vg-edge-unit-')),
    });
    expect(text).not.toContain(secret);
    expect(text).toContain(rpcTokenDigest(secret));
    expect(text).not.toMatch(/\{\{[A-Z0-9_]+\}\}/);
  });
});
