import { describe, expect, it } from 'vitest';
import {
  providerKeyPolicyFrom,
  providerKeyProblems,
} from '../../src/agent/providers/key-policy.js';
import { createLlm, ProviderKeyRefusedError } from '../../src/agent/providers/index.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { assertStrongLivekitSecret } from '../../src/config/livekit-secret.js';
import { CredentialCheckThrottle } from '../../src/diagnostics/credential-throttle.js';
import { wideRangeProblem } from '../../src/trunks/addresses.js';
import {
  sipRealmProblem,
  sipTransferUriProblem,
  sipUserProblem,
} from '../../src/contract/sip-grammar.js';

const noPolicy = providerKeyPolicyFrom({});

describe('provider key policy', () => {
  it('allows the providers own variables and VG_PROVIDER_KEY_* to their official hosts', () => {
    expect(
      providerKeyProblems({ provider: 'openai', api_key_env: 'OPENAI_API_KEY' }, noPolicy),
    ).toEqual([]);
    expect(
      providerKeyProblems(
        {
          provider: 'deepgram',
          api_key_env: 'VG_PROVIDER_KEY_DG',
          base_url: 'wss://api.deepgram.com',
        },
        noPolicy,
      ),
    ).toEqual([]);
  });

  it('refuses gateway secrets even when the operator lists them', () => {
    const listed = providerKeyPolicyFrom({ AGENT_PROVIDER_KEY_ENVS: 'LIVEKIT_API_SECRET' });
    for (const name of [
      'LIVEKIT_API_SECRET',
      'GATEWAY_ENCRYPTION_KEY',
      'AWS_SECRET_ACCESS_KEY',
      'BRIDGE_JWT_SECRET',
    ]) {
      expect(providerKeyProblems({ provider: 'openai', api_key_env: name }, listed)[0]?.field).toBe(
        'api_key_env',
      );
    }
    expect(() => loadConfig({ AGENT_PROVIDER_KEY_ENVS: 'GROQ_API_KEY,TURN_SECRET' })).toThrow(
      /AGENT_PROVIDER_KEY_ENVS: TURN_SECRET/,
    );
  });

  it('sends a key to another host only when the operator allows that host', () => {
    const groq = {
      provider: 'openai',
      api_key_env: 'VG_PROVIDER_KEY_GROQ',
      base_url: 'https://api.groq.com/openai/v1',
    };
    expect(providerKeyProblems(groq, noPolicy).map((p) => p.field)).toEqual(['base_url']);
    expect(
      providerKeyProblems(groq, providerKeyPolicyFrom({ AGENT_PROVIDER_HOSTS: 'API.groq.com' })),
    ).toEqual([]);
    // A keyless endpoint sends no key, so it may be anywhere the profile says.
    expect(
      providerKeyProblems(
        { provider: 'openai', api_key_env: null, base_url: 'http://10.0.0.5/v1' },
        noPolicy,
      ),
    ).toEqual([]);
  });

  it('makes the worker refuse before it builds a provider', () => {
    const env = { LIVEKIT_API_SECRET: 'x'.repeat(40) };
    expect(() => createLlm({ provider: 'openai', api_key_env: 'LIVEKIT_API_SECRET' }, env)).toThrow(
      ProviderKeyRefusedError,
    );
    expect(() =>
      createLlm(
        { provider: 'openai', base_url: 'https://collector.example/v1' },
        { OPENAI_API_KEY: 'sk' },
      ),
    ).toThrow(/llm\.base_url/);
  });
});

describe('SIP grammar', () => {
  it('accepts ordinary users, realms and transfer URIs', () => {
    expect(sipUserProblem('alice.smith+1')).toBeUndefined();
    expect(sipUserProblem('user%40example.com')).toBeUndefined();
    expect(sipRealmProblem('sip.example.com')).toBeUndefined();
    expect(
      sipTransferUriProblem('sip:+15551234567@pbx.example.com:5061;transport=tls'),
    ).toBeUndefined();
    expect(sipTransferUriProblem('sips:bob@[2001:db8::1];user=phone')).toBeUndefined();
    expect(sipTransferUriProblem('sip:desk@127.0.0.1:5099')).toBeUndefined();
  });

  it('refuses what would end a header or point elsewhere', () => {
    for (const user of ['a\r\nb', 'a b', 'a;b', 'a?b', 'a<b', 'a@b', ''])
      expect(sipUserProblem(user), user).toBeDefined();
    expect(sipRealmProblem('a"b')).toBeDefined();
    expect(sipRealmProblem('a\nb')).toBeDefined();
    for (const uri of [
      'sip:bob@host?Replaces=x',
      'sip:bob@host;maddr=198.51.100.1',
      'sip:bob@host;method=INVITE',
      'sip:bob@host;transport=udp;lr',
      'sip:bob@ho st',
      'sip:bob@host:70000',
      'sip:bob@host>',
      'sip:@host',
    ])
      expect(sipTransferUriProblem(uri), uri).toBeDefined();
  });
});

describe('allowed address ranges', () => {
  it('flags ranges wider than a /16 or an IPv6 /32', () => {
    expect(wideRangeProblem('0.0.0.0/0')).toMatch(/every address/);
    expect(wideRangeProblem('::/0')).toMatch(/every address/);
    expect(wideRangeProblem('10.0.0.0/8')).toMatch(/allow_any_source/);
    expect(wideRangeProblem('172.16.0.0/16')).toBeUndefined();
    expect(wideRangeProblem('203.0.113.10')).toBeUndefined();
    expect(wideRangeProblem('2001:db8::/32')).toBeUndefined();
  });
});

describe('credential check throttle', () => {
  it('allows a few checks per key and per source in a window, then answers 429', () => {
    const throttle = new CredentialCheckThrottle(2, 60_000);
    throttle.take(['key:a', 'source:1'], 0);
    throttle.take(['key:b', 'source:1'], 1);
    expect(() => throttle.take(['key:c', 'source:1'], 2)).toThrow(/too many credential checks/);
    throttle.take(['key:c', 'source:2'], 3);
    throttle.take(['key:a', 'source:1'], 60_001);
  });
});

describe('LiveKit API secret strength', () => {
  const config = (env: Record<string, string>) =>
    loadConfig({ LIVEKIT_URL: 'https://lk.example.com', ...env });

  it('refuses the default, known and short secrets, naming the variable', () => {
    expect(() => assertStrongLivekitSecret(config({}))).toThrow(
      /LIVEKIT_API_SECRET: is unset or empty/,
    );
    expect(() => assertStrongLivekitSecret(config({ LIVEKIT_API_SECRET: 'devkey' }))).toThrow(
      ConfigError,
    );
    expect(() => assertStrongLivekitSecret(config({ LIVEKIT_API_SECRET: 'x'.repeat(31) }))).toThrow(
      /32 characters/,
    );
    expect(() =>
      assertStrongLivekitSecret(config({ LIVEKIT_API_SECRET: 'x'.repeat(32) })),
    ).not.toThrow();
  });

  it('tolerates a weak secret only for the local stack with LiveKit on loopback', () => {
    expect(() => assertStrongLivekitSecret(config({ GATEWAY_LOCAL_STACK: 'true' }))).toThrow(
      ConfigError,
    );
    const local = loadConfig({ LIVEKIT_URL: 'http://127.0.0.1:7880', GATEWAY_LOCAL_STACK: 'true' });
    expect(() => assertStrongLivekitSecret(local)).not.toThrow();
    const notLocal = loadConfig({ LIVEKIT_URL: 'http://127.0.0.1:7880' });
    expect(() => assertStrongLivekitSecret(notLocal)).toThrow(/GATEWAY_LOCAL_STACK=true/);
  });
});
