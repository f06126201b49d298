import { existsSync, mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vg-embedded-'));
let gw: TestGateway | undefined;

afterAll(async () => {
  await gw?.close();
});

describe('embedded PGlite database (no DATABASE_URL)', () => {
  it('provisions a trunk into LiveKit with the database under the data folder', async () => {
    gw = await startTestGateway({ database: 'embedded', dataDir });
    expect(gw.api.database.kind).toBe('embedded');
    await clearLivekitSip(gw.sip);
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: 'embedded_trunk',
      name: 'Embedded',
      provider: 'novofon',
      numbers: ['+74951112233'],
      allowed_addresses: ['203.0.113.20'],
      inbound_username: 'emb',
      inbound_password: 'embedded-pass',
    });
    expect(res.status).toBe(201);
    expect((await gw.sip.listSipInboundTrunk()).map((t) => t.numbers)).toEqual([['74951112233']]);
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(true);
    const keyFile = path.join(dataDir, 'encryption.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('keeps the trunk and can still decrypt its secret after a restart', async () => {
    await gw!.api.close();
    gw = await startTestGateway({ database: 'embedded', dataDir });
    const res = await gw.request('GET', '/api/trunks/embedded_trunk');
    expect(res.status).toBe(200);
    expect(res.body.has_inbound_password).toBe(true);
    // A reconcile decrypts the stored password to compare it with LiveKit's.
    const report = await gw.request('POST', '/api/reconcile');
    expect(report.status).toBe(200);
    expect(report.body.drift).toEqual([]);
    await gw.request('DELETE', '/api/trunks/embedded_trunk');
  });
});
