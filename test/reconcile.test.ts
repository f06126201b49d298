import { ListUpdate } from '@livekit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { eventually } from './helpers/wait.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  await clearLivekitSip(gw.sip);
  expect(
    (
      await gw.request('POST', '/api/trunks', {
        trunk_id: 'drift_trunk',
        name: 'Drift trunk',
        provider: 'twilio',
        numbers: ['+14155550100'],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await gw.request('POST', '/api/dispatch-rules', {
        name: 'drift-rule',
        type: 'individual',
        trunk_ids: ['drift_trunk'],
      })
    ).status,
  ).toBe(201);
});
afterAll(async () => {
  await gw?.close();
});

const trunkView = async () => (await gw.request('GET', '/api/trunks/drift_trunk')).body;

describe('reconcile with LiveKit', () => {
  it('reports a trunk deleted by hand in LiveKit as drift, then restores it (and the rule follows)', async () => {
    const before = await trunkView();
    await gw.sip.deleteSipTrunk(before.sync.livekit_inbound_trunk_id);

    const report = await gw.request('POST', '/api/reconcile?mode=report');
    expect(report.status).toBe(200);
    expect(report.body.drift).toContainEqual(
      expect.objectContaining({
        object: 'trunk',
        kind: 'inbound',
        name: 'drift_trunk',
        problem: 'missing',
        action: 'reported',
      }),
    );
    const reported = await trunkView();
    expect(reported.sync.state).toBe('drift');
    expect(reported.sync.last_drift).toContain('inbound missing');
    expect(await gw.sip.listSipInboundTrunk()).toHaveLength(0);

    const repaired = await gw.request('POST', '/api/reconcile');
    expect(repaired.body.drift).toContainEqual(
      expect.objectContaining({ problem: 'missing', action: 'repaired' }),
    );
    const after = await trunkView();
    expect(after.sync.state).toBe('in_sync');
    const inbound = await gw.sip.listSipInboundTrunk();
    expect(inbound).toHaveLength(1);
    expect(inbound[0]!.sipTrunkId).toBe(after.sync.livekit_inbound_trunk_id);
    expect(inbound[0]!.numbers).toEqual(['+14155550100']);
    expect(inbound[0]!.allowedAddresses).toContain('54.172.60.0/30');
    // The dispatch rule named the old LiveKit id; it now names the restored trunk.
    const [rule] = await gw.sip.listSipDispatchRule();
    expect(rule!.trunkIds).toEqual([after.sync.livekit_inbound_trunk_id]);

    const clean = await gw.request('POST', '/api/reconcile');
    expect(clean.body.drift).toEqual([]);
  });

  it('puts back fields edited by hand in LiveKit', async () => {
    const id = (await trunkView()).sync.livekit_inbound_trunk_id;
    await gw.sip.updateSipInboundTrunkFields(id, {
      allowedAddresses: new ListUpdate({ set: ['0.0.0.0/0'] }),
    });
    const report = await gw.request('POST', '/api/reconcile');
    expect(report.body.drift).toContainEqual(
      expect.objectContaining({
        kind: 'inbound',
        problem: 'changed',
        fields: ['allowed_addresses'],
        action: 'repaired',
      }),
    );
    const [lk] = await gw.sip.listSipInboundTrunk();
    expect(lk!.allowedAddresses).not.toContain('0.0.0.0/0');
    expect(lk!.sipTrunkId).toBe(id);
  });

  it('removes objects carrying our marker that no row claims, and leaves others alone', async () => {
    const { installation } = (await gw.request('POST', '/api/reconcile?mode=report')).body;
    const orphan = await gw.sip.createSipInboundTrunk('left behind', ['+14155550199'], {
      allowedAddresses: ['192.0.2.9'],
      metadata: JSON.stringify({
        managed_by: 'voice-gateway',
        installation,
        kind: 'inbound',
        id: '00000000-0000-0000-0000-000000000001',
      }),
    });
    const foreign = await gw.sip.createSipInboundTrunk('made by hand', ['+14155550198'], {
      allowedAddresses: ['192.0.2.8'],
    });
    const report = await gw.request('POST', '/api/reconcile');
    expect(report.body.drift).toContainEqual(
      expect.objectContaining({
        livekit_id: orphan.sipTrunkId,
        problem: 'orphan',
        action: 'repaired',
      }),
    );
    expect(report.body.unmanaged).toContainEqual(
      expect.objectContaining({
        livekit_id: foreign.sipTrunkId,
        name: 'made by hand',
        owner: 'unmarked',
      }),
    );
    const ids = (await gw.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId);
    expect(ids).not.toContain(orphan.sipTrunkId);
    expect(ids).toContain(foreign.sipTrunkId);
    await gw.sip.deleteSipTrunk(foreign.sipTrunkId);
  });

  it('records drift in the audit log and in metrics', async () => {
    const audit = await gw.request('GET', '/api/audit?action=reconcile.drift');
    expect(audit.body.total).toBeGreaterThanOrEqual(3);
    const metrics = await fetch(`${gw.internalUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /voice_gateway_reconcile_drift_total\{kind="inbound",problem="missing"\} [1-9]/,
    );
  });

  it('the periodic reconcile repairs drift with no request', async () => {
    const periodic = await startTestGateway({
      databaseUrl: gw.databaseUrl,
      encryptionKey: gw.encryptionKey,
      env: { RECONCILE_INTERVAL_SECONDS: '1' },
    });
    try {
      const id = (await trunkView()).sync.livekit_inbound_trunk_id;
      await gw.sip.deleteSipTrunk(id);
      const deadline = Date.now() + 5000;
      let restored: string[] = [];
      while (restored.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        restored = (await gw.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId);
      }
      expect(restored).toHaveLength(1);
      // The record takes the new id once LiveKit has made the trunk: a moment after it lists it.
      const recorded = await eventually(async () => {
        const now = (await trunkView()).sync.livekit_inbound_trunk_id;
        return now === restored[0] ? now : undefined;
      }, 5000);
      expect(recorded).toBe(restored[0]);
    } finally {
      await periodic.api.close();
    }
  });

  it('an operator may reconcile; a viewer may not', async () => {
    const viewer = await gw.keyFor('viewer');
    const operator = await gw.keyFor('operator');
    expect((await gw.request('POST', '/api/reconcile', undefined, viewer)).status).toBe(403);
    expect((await gw.request('POST', '/api/reconcile', undefined, operator)).status).toBe(200);
  });
});
