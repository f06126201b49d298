import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';

// Two gateways (say staging and production), each with its own database, share one LiveKit.
let production: TestGateway;
let staging: TestGateway;

async function provision(gw: TestGateway, slug: string, number: string): Promise<void> {
  const trunk = await gw.request('POST', '/api/trunks', {
    trunk_id: slug,
    name: `Trunk ${slug}`,
    provider: 'twilio',
    numbers: [number],
  });
  expect(trunk.status).toBe(201);
  const rule = await gw.request('POST', '/api/dispatch-rules', {
    name: `rule-${slug}`,
    type: 'individual',
    trunk_ids: [slug],
  });
  expect(rule.status).toBe(201);
}

const sync = async (gw: TestGateway, slug: string) =>
  (await gw.request('GET', `/api/trunks/${slug}`)).body.sync as {
    livekit_inbound_trunk_id: string;
    state: string;
  };

async function livekitIds(gw: TestGateway) {
  const [inbound, rules] = await Promise.all([
    gw.sip.listSipInboundTrunk(),
    gw.sip.listSipDispatchRule(),
  ]);
  return {
    trunks: inbound.map((t) => t.sipTrunkId),
    rules: rules.map((r) => r.sipDispatchRuleId),
  };
}

beforeAll(async () => {
  production = await startTestGateway();
  await clearLivekitSip(production.sip);
  staging = await startTestGateway({ env: { GATEWAY_INSTALLATION_ID: 'staging' } });
  await provision(production, 'prod_main', '+14155550110');
  await provision(staging, 'staging_main', '+14155550120');
});
afterAll(async () => {
  await staging?.close();
  await production?.close();
  if (production) await clearLivekitSip(production.sip);
});

describe('two gateways on one LiveKit', () => {
  it("marks each object with its installation's id", async () => {
    const stagingTrunk = await sync(staging, 'staging_main');
    const [lk] = await staging.sip.listSipInboundTrunk({
      trunkIds: [stagingTrunk.livekit_inbound_trunk_id],
    });
    expect(JSON.parse(lk!.metadata)).toMatchObject({
      managed_by: 'voice-gateway',
      installation: 'staging',
      kind: 'inbound',
    });
    const report = await production.request('POST', '/api/reconcile?mode=report');
    // Unset GATEWAY_INSTALLATION_ID: the database's own id, a UUID.
    expect(report.body.installation).toMatch(/^[0-9a-f-]{36}$/);
    const prodTrunk = await sync(production, 'prod_main');
    const [prodLk] = await production.sip.listSipInboundTrunk({
      trunkIds: [prodTrunk.livekit_inbound_trunk_id],
    });
    expect(JSON.parse(prodLk!.metadata).installation).toBe(report.body.installation);
  });

  it("reconciling one deletes none of the other's trunks and rules, and reports them", async () => {
    const before = await livekitIds(production);
    expect(before.trunks).toHaveLength(2);
    expect(before.rules).toHaveLength(2);

    const prodReport = await production.request('POST', '/api/reconcile');
    expect(prodReport.status).toBe(200);
    expect(prodReport.body.drift).toEqual([]);
    const stagingTrunk = await sync(staging, 'staging_main');
    expect(prodReport.body.unmanaged).toContainEqual(
      expect.objectContaining({
        kind: 'inbound',
        livekit_id: stagingTrunk.livekit_inbound_trunk_id,
        owner: 'other_installation',
      }),
    );
    const stagingReport = await staging.request('POST', '/api/reconcile');
    expect(stagingReport.body.drift).toEqual([]);
    expect(stagingReport.body.unmanaged.map((u: { owner: string }) => u.owner)).toEqual([
      'other_installation',
      'other_installation',
    ]);

    expect(await livekitIds(production)).toEqual(before);
    expect((await sync(staging, 'staging_main')).state).toBe('in_sync');
    expect((await sync(production, 'prod_main')).state).toBe('in_sync');
  });

  it("deletes an orphan carrying its own id and leaves the other's and legacy ones alone", async () => {
    const installation = (await production.request('POST', '/api/reconcile?mode=report')).body
      .installation as string;
    const orphanOf = (owner: Record<string, string>, number: string) =>
      production.sip.createSipInboundTrunk(`left behind ${number}`, [number], {
        allowedAddresses: ['192.0.2.9'],
        metadata: JSON.stringify({
          managed_by: 'voice-gateway',
          ...owner,
          kind: 'inbound',
          id: '00000000-0000-0000-0000-00000000000' + number.slice(-1),
        }),
      });
    const prodOrphan = await orphanOf({ installation }, '+14155550131');
    const stagingOrphan = await orphanOf({ installation: 'staging' }, '+14155550132');
    const legacy = await orphanOf({}, '+14155550133');

    // Staging's reconcile deletes only its own orphan.
    const stagingReport = await staging.request('POST', '/api/reconcile');
    expect(stagingReport.body.drift).toEqual([
      expect.objectContaining({
        livekit_id: stagingOrphan.sipTrunkId,
        problem: 'orphan',
        action: 'repaired',
      }),
    ]);
    expect(stagingReport.body.unmanaged).toContainEqual(
      expect.objectContaining({ livekit_id: legacy.sipTrunkId, owner: 'legacy' }),
    );
    let ids = (await production.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId);
    expect(ids).not.toContain(stagingOrphan.sipTrunkId);
    expect(ids).toContain(prodOrphan.sipTrunkId);

    const prodReport = await production.request('POST', '/api/reconcile');
    expect(prodReport.body.drift).toEqual([
      expect.objectContaining({ livekit_id: prodOrphan.sipTrunkId, action: 'repaired' }),
    ]);
    ids = (await production.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId);
    expect(ids).not.toContain(prodOrphan.sipTrunkId);
    // A legacy marker names no installation: it could be either gateway's, so neither deletes it.
    expect(ids).toContain(legacy.sipTrunkId);
    expect(ids).toHaveLength(3);
    await production.sip.deleteSipTrunk(legacy.sipTrunkId);
  });

  it('adopts a legacy object naming one of its rows and marks it as its own', async () => {
    const trunk = (await production.request('GET', '/api/trunks/prod_main')).body;
    const old = trunk.sync.livekit_inbound_trunk_id as string;
    const [current] = await production.sip.listSipInboundTrunk({ trunkIds: [old] });
    // What a gateway before installation ids left: the same object, its marker naming no installation.
    await production.sip.deleteSipTrunk(old);
    const legacy = await production.sip.createSipInboundTrunk(current!.name, current!.numbers, {
      allowedAddresses: current!.allowedAddresses,
      metadata: JSON.stringify({ managed_by: 'voice-gateway', kind: 'inbound', id: trunk.id }),
    });

    // Staging leaves it alone; production adopts it (by its row id) and writes its own marker.
    await staging.request('POST', '/api/reconcile');
    expect((await production.sip.listSipInboundTrunk()).map((t) => t.sipTrunkId)).toContain(
      legacy.sipTrunkId,
    );
    const report = await production.request('POST', '/api/reconcile');
    expect(report.body.drift).toContainEqual(
      expect.objectContaining({ kind: 'inbound', problem: 'changed', action: 'repaired' }),
    );
    const after = await sync(production, 'prod_main');
    expect(after.livekit_inbound_trunk_id).toBe(legacy.sipTrunkId);
    const [adopted] = await production.sip.listSipInboundTrunk({
      trunkIds: [legacy.sipTrunkId],
    });
    expect(JSON.parse(adopted!.metadata).installation).toBe(report.body.installation);
    // The rule follows the adopted trunk, and staging's objects are still there.
    const rules = await production.sip.listSipDispatchRule();
    expect(rules.map((r) => r.trunkIds).flat()).toContain(legacy.sipTrunkId);
    expect(rules.map((r) => r.trunkIds).flat()).toContain(
      (await sync(staging, 'staging_main')).livekit_inbound_trunk_id,
    );
    expect((await production.request('POST', '/api/reconcile')).body.drift).toEqual([]);
  });
});
