import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { SecretBox } from '../src/db/index.js';
import { recordingDeps, sweepRecordings } from '../src/recordings/index.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { livekitEventBody, livekitSignature } from './helpers/livekit-webhook.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const DAY_MS = 86_400_000;
let gw: TestGateway;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver(() => 200);
  gw = await startTestGateway({
    env: {
      CALL_TRANSCRIPT_RETENTION_DAYS: '30',
      WEBHOOK_DELIVERY_RETENTION_DAYS: '30',
      LIVEKIT_EVENT_RETENTION_DAYS: '7',
      // The sweep is turned on only once the rows are aged (below); recordings are swept by hand.
      RETENTION_SWEEP_INTERVAL_SECONDS: '0',
      RECORDINGS_SWEEP_INTERVAL_SECONDS: '0',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await receiver?.close();
});

async function webCallStarts(room: string) {
  const body = livekitEventBody('participant_joined', {
    room: { name: room, sid: `RM_${room}` },
    participant: { sid: `PA_${room}`, identity: `web-${room}`, kind: 'STANDARD' },
  });
  const response = await fetch(`${gw.url}/webhooks/livekit`, {
    method: 'POST',
    headers: {
      'content-type': 'application/webhook+json',
      authorization: await livekitSignature(body, stack.apiKey, stack.apiSecret),
    },
    body,
  });
  expect(response.status).toBe(200);
}

const roomOf = sql<string>`payload->'data'->'call'->>'room_name'`;

describe('retention of personal data', () => {
  it('removes transcripts, webhook history and LiveKit events past their retention, keeps newer ones', async () => {
    const db = gw.api.database.db;
    const endpoint = await gw.request('POST', '/api/webhook-endpoints', {
      url: receiver.url,
      event_types: ['call.started'],
    });
    expect(endpoint.status).toBe(201);
    const rooms = ['old-room', 'new-room', 'retried-room'];
    for (const room of rooms) await webCallStarts(room);
    expect(await eventually(async () => receiver.requests.length === 3 || undefined)).toBe(true);
    const transcript = [
      { at: new Date().toISOString(), speaker: 'caller', text: 'my card is 4111' },
    ];
    await db
      .updateTable('calls')
      .set({ transcript: JSON.stringify(transcript) })
      .where('roomName', 'in', rooms)
      .execute();
    const callIds = Object.fromEntries(
      (await db.selectFrom('calls').select(['id', 'roomName']).execute()).map((c) => [
        c.roomName,
        c.id,
      ]),
    );
    const ago = (days: number) => new Date(Date.now() - days * DAY_MS);
    // old-room: 40 days old. retried-room: as old, but its delivery is still being retried.
    await db
      .updateTable('calls')
      .set({ startedAt: ago(40) })
      .where('roomName', '=', 'old-room')
      .execute();
    await db
      .updateTable('livekitEvents')
      .set({ receivedAt: ago(8) })
      .where('roomName', 'in', ['old-room', 'retried-room'])
      .execute();
    await db
      .updateTable('webhookMessages')
      .set({ createdAt: ago(31) })
      .where(roomOf, 'in', ['old-room', 'retried-room'])
      .execute();
    const retried = await db
      .selectFrom('webhookMessages')
      .select('id')
      .where(roomOf, '=', 'retried-room')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('webhookDeliveries')
      .set({ status: 'pending', nextAttemptAt: new Date(Date.now() + DAY_MS) })
      .where('messageId', '=', retried.id)
      .execute();
    // A second API process on the same database, sweeping every second (like every process).
    const sweeper = await startTestGateway({
      databaseUrl: gw.databaseUrl,
      encryptionKey: gw.encryptionKey,
      env: {
        CALL_TRANSCRIPT_RETENTION_DAYS: '30',
        WEBHOOK_DELIVERY_RETENTION_DAYS: '30',
        LIVEKIT_EVENT_RETENTION_DAYS: '7',
        RETENTION_SWEEP_INTERVAL_SECONDS: '1',
        RECORDINGS_SWEEP_INTERVAL_SECONDS: '0',
      },
    });
    try {
      const redacted = await eventually(async () => {
        const call = await gw.request('GET', `/api/calls/${callIds['old-room']}`);
        return call.body.transcript?.length === 0 ? true : undefined;
      }, 10_000);
      expect(redacted, 'the transcript of a 40-day-old call is still there').toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await sweeper.close();
    }
    const newCall = await gw.request('GET', `/api/calls/${callIds['new-room']}`);
    expect(newCall.body.transcript).toEqual(transcript);
    const events = await db.selectFrom('livekitEvents').select('roomName').execute();
    expect(events.map((e) => e.roomName)).toEqual(['new-room']);
    const log = await gw.request('GET', `/api/webhook-endpoints/${endpoint.body.id}/deliveries`);
    const kept = await db.selectFrom('webhookMessages').select(roomOf.as('room')).execute();
    expect([...new Set(kept.map((m) => m.room))].sort()).toEqual(['new-room', 'retried-room']);
    expect(kept.filter((m) => m.room === 'retried-room')).toHaveLength(1);
    expect(log.body.items).toHaveLength(2);
    const attempts = await db.selectFrom('webhookAttempts').select('id').execute();
    expect(attempts).toHaveLength(2);
  });

  it('deletes every expired recording in one sweep, also behind 1,100 older ones kept longer', async () => {
    const db = gw.api.database.db;
    const dir = path.join(gw.dataDir, 'recordings');
    const recording = (file: string, deleteAfter: Date) =>
      JSON.stringify({
        status: 'ready',
        file,
        format: 'ogg',
        channels: 'stereo',
        retention_days: 1,
        delete_after: deleteAfter.toISOString(),
        storage: 'local',
      });
    const addRecordings = async (count: number, prefix: string, deleteAfter: Date) => {
      const ids = await sql<{ id: string }>`
        INSERT INTO calls (id, direction, channel, status, started_at, ended_at)
        SELECT gen_random_uuid(), 'inbound', 'sip', 'ended', now() - interval '400 days',
               now() - interval '400 days'
        FROM generate_series(1, ${count}) RETURNING id`.execute(db);
      const rows = ids.rows.map((r) => ({
        callId: r.id,
        at: new Date(),
        type: 'recording',
        data: recording(`${prefix}/${r.id}.ogg`, deleteAfter),
      }));
      mkdirSync(path.join(dir, prefix), { recursive: true });
      for (const r of rows) writeFileSync(path.join(dir, prefix, `${r.callId}.ogg`), 'OggS');
      for (let i = 0; i < rows.length; i += 500) {
        await db
          .insertInto('callEvents')
          .values(rows.slice(i, i + 500))
          .execute();
      }
      return rows.map((r) => path.join(dir, prefix, `${r.callId}.ogg`));
    };
    // Lower ids first: recordings kept ten years, then 1,500 whose retention has passed.
    const keptFiles = await addRecordings(1100, 'kept', new Date(Date.now() + 3650 * DAY_MS));
    const expiredFiles = await addRecordings(1500, 'expired', new Date(Date.now() - 1000));

    const config = loadConfig({ RECORDINGS_DIR: dir, GATEWAY_ENCRYPTION_KEY: gw.encryptionKey });
    const deps = recordingDeps(config, db, new SecretBox(gw.encryptionKey), gw.api.logger);
    const result = await sweepRecordings(deps);
    expect(result.deleted).toBe(1500);
    expect(expiredFiles.filter((f) => existsSync(f))).toEqual([]);
    expect(keptFiles.every((f) => existsSync(f))).toBe(true);
    const statuses = await db
      .selectFrom('callEvents')
      .select([sql<string>`data->>'status'`.as('status'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('type', '=', 'recording')
      .groupBy(sql`data->>'status'`)
      .execute();
    expect(Object.fromEntries(statuses.map((s) => [s.status, s.n]))).toEqual({
      deleted: 1500,
      ready: 1100,
    });
  });
});
