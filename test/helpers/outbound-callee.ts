import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { startSippUas, type SippUas } from '../sipp/uas.js';
import type { TestGateway } from './gateway.js';
import type { RtpPeer } from './rtp-peer.js';

/** A 1 kHz beep of half a second, as 8 kHz mu-law: an answering machine's. */
export const machineBeep = () =>
  execFileSync('sox', [
    ...['-n', '-r', '8000', '-c', '1', '-t', 'ul', '-'],
    ...['synth', '0.5', 'sine', '1000', 'vol', '0.5'],
  ]);

/**
 * POST /api/calls to a sipp UAS (test/sipp/`scenario`) whose media is `callee`, through
 * `trunkId` pointed at it; LiveKit SIP's "cpu exhausted" refusals are retried, bounded.
 */
export async function dialCallee(
  gw: TestGateway,
  callee: RtpPeer,
  options: {
    trunkId: string;
    to: string;
    profileId: string;
    webhookUrl?: string;
    scenario?: string;
  },
): Promise<{ uas: SippUas; call: { id: string } }> {
  const uas = await startSippUas(options.scenario ?? 'uas-answer.xml', {
    timeoutSeconds: 60,
    rtpPort: callee.port,
  });
  const point = await gw.request('PUT', `/api/trunks/${options.trunkId}`, {
    proxy_address: `127.0.0.1:${uas.port}`,
  });
  expect(point.status).toBe(200);
  for (let attempt = 0; ; attempt += 1) {
    const res = await gw.request('POST', '/api/calls', {
      trunk_id: options.trunkId,
      to_number: options.to,
      agent_profile_id: options.profileId,
      ...(options.webhookUrl && { webhook_url: options.webhookUrl }),
    });
    const overloaded = res.status === 503 && String(res.body?.message).includes('cpu exhausted');
    if (!overloaded || attempt >= 20) {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return { uas, call: res.body as { id: string } };
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
