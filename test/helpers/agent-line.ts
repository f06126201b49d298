import { expect } from 'vitest';
import type { TestGateway } from './gateway.js';

/** An inbound trunk for `numbers` that takes sipp's calls from loopback. */
export async function loopbackTrunk(
  gw: TestGateway,
  trunkId: string,
  numbers: string[],
  name = trunkId,
): Promise<void> {
  const res = await gw.request('POST', '/api/trunks', {
    trunk_id: trunkId,
    name,
    provider: 'generic',
    numbers,
    allowed_addresses: ['127.0.0.1'],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/**
 * An agent profile and the individual dispatch rule that sends the trunk's calls (to `numbers`
 * when given, else all of them) to it. Returns the profile's id.
 */
export async function agentLine(
  gw: TestGateway,
  line: { trunkId: string; name: string; settings: unknown; numbers?: string[] },
): Promise<string> {
  const profile = await gw.request('POST', '/api/agents', {
    name: line.name,
    settings: line.settings,
  });
  expect(profile.status, JSON.stringify(profile.body)).toBe(201);
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: line.name,
    type: 'individual',
    trunk_ids: [line.trunkId],
    ...(line.numbers && { numbers: line.numbers }),
    agent_profile_id: profile.body.id,
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  return profile.body.id as string;
}

/** An outbound-only trunk whose calls go to a sipp callee (the tests point proxy_address at it). */
export async function sippCalleeTrunk(
  gw: TestGateway,
  trunkId: string,
  numbers: string[],
): Promise<void> {
  const res = await gw.request('POST', '/api/trunks', {
    trunk_id: trunkId,
    name: 'sipp callee',
    provider: 'generic',
    supports_inbound: false,
    proxy_address: '127.0.0.1:5060',
    numbers,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}
