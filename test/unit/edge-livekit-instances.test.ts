import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dispatcherList,
  livekitInstancesFrom,
  renderEdgeConfig,
  type EdgeKamailioSettings,
} from '../../src/edge/kamailio-config.js';

const base: EdgeKamailioSettings = {
  sipListenIp: '127.0.0.1',
  sipPort: 5070,
  rpcIp: '127.0.0.1',
  rpcPort: 5090,
  rpcSecret: 'a-secret-of-enough-length',
  livekitHost: '127.0.0.1',
  livekitPort: 5060,
  dir: mkdtempSync(path.join(os.tmpdir(), 'vg-edge-unit-')),
};

describe('the LiveKit SIP instances behind the edge', () => {
  it('reads one address or several, comma-separated, IPv6 in brackets', () => {
    expect(livekitInstancesFrom('127.0.0.1:5060')).toEqual([{ host: '127.0.0.1', port: 5060 }]);
    expect(livekitInstancesFrom('10.0.0.5:5060, 10.0.0.6:5062,[::1]:5060')).toEqual([
      { host: '10.0.0.5', port: 5060 },
      { host: '10.0.0.6', port: 5062 },
      { host: '::1', port: 5060 },
    ]);
    expect(() => livekitInstancesFrom('10.0.0.5:5060,sip.example.com:5060')).toThrow(
      /EDGE_LIVEKIT_SIP_ADDRESS: "sip.example.com:5060" is not ip:port/,
    );
  });

  it('one address: one destination, used whatever the probes say', () => {
    expect(dispatcherList(base)).toContain('1 sip:127.0.0.1:5060 0 0');
    const cfg = renderEdgeConfig(base);
    expect(cfg).toContain('$var(sole) = 1;');
    expect(cfg).toContain('modparam("dispatcher", "ds_ping_interval", 10)');
  });

  it('several: one line each in set 1, probed at the interval given', () => {
    const s = {
      ...base,
      livekitInstances: [
        { host: '127.0.0.1', port: 5060 },
        { host: '127.0.0.1', port: 5062 },
      ],
      probeIntervalSeconds: 2,
    };
    const list = dispatcherList(s)
      .split('\n')
      .filter((l) => l.startsWith('1 '));
    expect(list).toEqual([
      '1 sip:127.0.0.1:5060 0 0 name=livekit-sip-127.0.0.1-5060',
      '1 sip:127.0.0.1:5062 0 0 name=livekit-sip-127.0.0.1-5062',
    ]);
    const cfg = renderEdgeConfig(s);
    expect(cfg).toContain('$var(sole) = 0;');
    expect(cfg).toContain('modparam("dispatcher", "ds_ping_interval", 2)');
  });

  it('refuses a host name, a duplicate and a bad interval, naming them', () => {
    expect(() => dispatcherList({ ...base, livekitHost: 'livekit-sip' })).toThrow(
      /"livekit-sip" is not an IP address/,
    );
    const twice = [
      { host: '127.0.0.1', port: 5060 },
      { host: '127.0.0.1', port: 5060 },
    ];
    expect(() => dispatcherList({ ...base, livekitInstances: twice })).toThrow(
      /127.0.0.1:5060 is listed twice/,
    );
    expect(() => renderEdgeConfig({ ...base, probeIntervalSeconds: 0 })).toThrow(
      /probeIntervalSeconds/,
    );
  });
});
