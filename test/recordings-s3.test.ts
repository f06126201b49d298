import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startS3Server, type S3Server } from '../scripts/stack/s3-server.js';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';
import { startSippUas } from './sipp/uas.js';

// Recordings moved to a real S3-compatible server (versitygw over a temporary folder): the
// agent records a real call into RECORDINGS_DIR, the API uploads the finished file with the
// AWS SDK, serves it back from the bucket, retries while the server is down, and deletes it
// after its retention. The bucket is read here with the AWS SDK, not through our code.

const stack = inject('stack');
const AGENT = 'recordings-s3-test';
const BUCKET = 'call-recordings';
const PREFIX = 'gw-test/';
const INBOUND = '+15551260000';
const OUT_FROM = '+15550100300';
const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'vg-recordings-s3-'));
let s3: S3Server;
let client: S3Client;
let gw: TestGateway;
let worker: TestAgentWorker;
let profileId: string;

beforeAll(async () => {
  s3 = await startS3Server();
  client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      RECORDINGS_DIR: recordingsDir,
      RECORDINGS_SWEEP_INTERVAL_SECONDS: '1',
      RECORDINGS_STORAGE: 's3',
      RECORDINGS_S3_ENDPOINT: s3.endpoint,
      RECORDINGS_S3_BUCKET: BUCKET,
      RECORDINGS_S3_REGION: s3.region,
      RECORDINGS_S3_ACCESS_KEY_ID: s3.accessKeyId,
      RECORDINGS_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      RECORDINGS_S3_PREFIX: PREFIX,
      RECORDINGS_S3_FORCE_PATH_STYLE: 'true',
    },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'recording_s3_in', [INBOUND]);
  const outbound = await gw.request('POST', '/api/trunks', {
    trunk_id: 'recording_s3_out',
    name: 'sipp UAS',
    provider: 'generic',
    supports_inbound: false,
    proxy_address: '127.0.0.1:5060',
    numbers: [OUT_FROM],
  });
  expect(outbound.status, JSON.stringify(outbound.body)).toBe(201);
  profileId = await agentLine(gw, {
    trunkId: 'recording_s3_in',
    name: 'recorded-to-s3',
    numbers: [INBOUND],
    settings: {
      mode: 'offline',
      greeting: 'Welcome to the recorded line.',
      recording: { enabled: true, format: 'ogg', channels: 'stereo', retention_days: 1 },
    },
  });
  worker = await startAgentWorker({
    gatewayUrl: gw.internalUrl,
    agentName: AGENT,
    env: { RECORDINGS_DIR: recordingsDir },
    timeoutMs: 120_000,
  });
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
  client?.destroy();
  await s3?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An inbound call to the recorded profile: the caller hears the greeting, hangs up after holdMs. */
async function recordedCall(caller: string, holdMs: number): Promise<string> {
  const phone = await RtpPeer.open();
  const call = sippAgentCall({
    host: stack.sipHost,
    port: stack.sipPort,
    number: INBOUND,
    caller,
    rtpPort: phone.port,
    holdMs,
  });
  try {
    const greeted = await eventually(async () => phone.heard.firstSoundAt, 30_000);
    expect(greeted, 'the caller heard no greeting').toBeDefined();
    const sipp = await call.done;
    expect(sipp.code, sipp.stderr).toBe(0);
  } finally {
    call.stop();
    phone.close();
  }
  const id = await eventually(async () => {
    const list = await gw.request('GET', '/api/calls?limit=20');
    return (list.body.items as { id: string; from_number: string }[]).find(
      (c) => c.from_number === caller,
    )?.id;
  });
  expect(id).toBeDefined();
  return id!;
}

type EventData = Record<string, unknown> & {
  status?: string;
  storage?: string;
  file?: string;
  object_key?: string;
  size_bytes?: number;
  upload?: { attempts: number; last_error: string };
};

async function recording(callId: string, done: (d: EventData) => boolean, timeoutMs = 30_000) {
  let last: EventData | undefined;
  const found = await eventually(async () => {
    const call = await gw.request('GET', `/api/calls/${callId}`);
    last = (call.body.events as { type: string; data: EventData }[])
      .filter((e) => e.type === 'recording')
      .at(-1)?.data;
    return last && done(last) ? last : undefined;
  }, timeoutMs);
  expect(found, `recording event: ${JSON.stringify(last)}`).toBeDefined();
  return found!;
}

async function bucketObjects(): Promise<Map<string, number>> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: PREFIX }));
  return new Map((listed.Contents ?? []).map((o) => [o.Key!, o.Size!]));
}

async function objectBytes(key: string): Promise<Buffer> {
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

async function download(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  };
}

const asAdmin = () => ({ authorization: `Bearer ${gw.adminKey}` });

function probe(body: Buffer, ext: string) {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-s3-dl-')), `call.${ext}`);
  writeFileSync(file, body);
  const out = execFileSync('ffprobe', [
    ...['-v', 'error', '-select_streams', 'a:0', '-show_entries'],
    ...['stream=channels,codec_name:format=duration', '-of', 'json', file],
  ]).toString();
  const json = JSON.parse(out) as {
    streams: { channels: number; codec_name: string }[];
    format: { duration: string };
  };
  return { ...json.streams[0]!, duration: Number(json.format.duration) };
}

/** Files left in RECORDINGS_DIR (the capture folders included). */
const localFiles = () => readdirSync(recordingsDir, { recursive: true }).map(String);

describe('call recordings in an S3-compatible bucket', () => {
  let first: { callId: string; key: string; size: number };

  it('uploads a finished recording to the bucket, removes the local file and streams it back', async () => {
    const callId = await recordedCall('+15557300001', 7000);
    const data = await recording(callId, (d) => d.storage === 's3');
    const key = data.object_key!;
    expect(data.status).toBe('ready');
    expect(key).toBe(`${PREFIX}${callId}/${path.posix.basename(data.file!)}`);
    const objects = await bucketObjects();
    expect(objects.get(key)).toBe(data.size_bytes);
    expect(existsSync(path.join(recordingsDir, data.file!))).toBe(false);
    // The raw capture is gone too (the agent removes it once it reported the finished file).
    const leftover = await eventually(async () => {
      const audio = localFiles().filter((f) => /\.(ogg|wav)$/.test(f));
      return audio.length === 0 ? audio : undefined;
    }, 5000);
    expect(leftover, localFiles().join(', ')).toEqual([]);

    const stored = await objectBytes(key);
    const viewer = await gw.keyFor('viewer');
    const got = await download(`${gw.url}/api/calls/${callId}/recording`, {
      authorization: `Bearer ${viewer}`,
    });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('audio/ogg');
    expect(got.headers.get('x-recording-storage')).toBe('s3');
    expect(got.body.equals(stored)).toBe(true);
    const info = probe(got.body, 'ogg');
    console.log(
      `uploaded ${stored.length} bytes, ${info.duration.toFixed(2)} s of ${info.codec_name}`,
    );
    expect(info).toMatchObject({ codec_name: 'opus', channels: 2 });
    expect(info.duration).toBeGreaterThan(4);

    // A byte range comes from the bucket as a range too.
    const part = await download(`${gw.url}/api/calls/${callId}/recording`, {
      ...asAdmin(),
      range: 'bytes=100-1099',
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${stored.length}`);
    expect(part.body.equals(stored.subarray(100, 1100))).toBe(true);
    const beyond = await download(`${gw.url}/api/calls/${callId}/recording`, {
      ...asAdmin(),
      range: `bytes=${stored.length + 10}-`,
    });
    expect(beyond.status).toBe(416);
    const head = await fetch(`${gw.url}/api/calls/${callId}/recording`, {
      method: 'HEAD',
      headers: asAdmin(),
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(stored.length));
    const anonymous = await download(`${gw.url}/api/calls/${callId}/recording`);
    expect(anonymous.status).toBe(401);
    first = { callId, key, size: stored.length };
  }, 90_000);

  it("streams the bucket's copy through the signed link of call.recording_ready and refuses a tampered one", async () => {
    const link = await eventually(async () => {
      const rows = await gw.api.database.db
        .selectFrom('webhookMessages')
        .select('payload')
        .where('eventType', '=', 'call.recording_ready')
        .execute();
      return rows
        .map((r) => r.payload as { data: { call_id: string; recording: { url: string } } })
        .find((p) => p.data.call_id === first.callId)?.data.recording.url;
    });
    expect(link).toBeDefined();
    const url = new URL(link!);
    const got = await download(`${gw.url}${url.pathname}${url.search}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('audio/ogg');
    expect(got.body.equals(await objectBytes(first.key))).toBe(true);

    const tampered = new URL(url);
    tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 60));
    const refused = await download(`${gw.url}${tampered.pathname}${tampered.search}`);
    expect(refused.status).toBe(401);
    expect(refused.body.toString()).toContain('invalid_link');
  }, 30_000);

  it('keeps the recording local while the S3 server is down and uploads it once it is back', async () => {
    await s3.stop();
    let callId: string;
    let failed: EventData;
    try {
      callId = await recordedCall('+15557300002', 5000);
      failed = await recording(
        callId,
        (d) => d.status === 'ready' && (d.upload?.attempts ?? 0) > 0,
      );
      expect(failed.storage).toBe('local');
      expect(failed.upload!.last_error).toMatch(/ECONNREFUSED|connect/i);
      const record = await gw.request('GET', `/api/calls/${callId}`);
      expect(JSON.stringify(record.body)).not.toContain(s3.secretAccessKey);
      expect(existsSync(path.join(recordingsDir, failed.file!))).toBe(true);
      // Meanwhile it is served from RECORDINGS_DIR.
      const local = await download(`${gw.url}/api/calls/${callId}/recording`, asAdmin());
      expect(local.status).toBe(200);
      expect(local.headers.get('x-recording-storage')).toBe('local');
      expect(local.body.length).toBe(failed.size_bytes);
    } finally {
      await s3.start();
    }
    const backAt = Date.now();
    // The sweep (every second here) tries again on its backoff: 5 s after the first failure.
    const moved = await recording(callId, (d) => d.storage === 's3', 30_000);
    console.log(
      `uploaded ${((Date.now() - backAt) / 1000).toFixed(1)} s after S3 came back, after ${failed.upload!.attempts} failed attempt(s)`,
    );
    expect(moved.upload).toBeUndefined();
    expect((await bucketObjects()).get(moved.object_key!)).toBe(failed.size_bytes);
    expect(existsSync(path.join(recordingsDir, failed.file!))).toBe(false);
    const got = await download(`${gw.url}/api/calls/${callId}/recording`, asAdmin());
    expect(got.status).toBe(200);
    expect(got.body.equals(await objectBytes(moved.object_key!))).toBe(true);
  }, 90_000);

  it("records an outbound call as its POST /api/calls body says, over the profile's setting", async () => {
    const bad = await gw.request('POST', '/api/calls', {
      trunk_id: 'recording_s3_out',
      to_number: '+15551230077',
      agent_profile_id: profileId,
      recording: { format: 'mp3' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual([{ field: 'recording.format', message: expect.any(String) }]);

    const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 60 });
    try {
      const point = await gw.request('PUT', '/api/trunks/recording_s3_out', {
        proxy_address: `127.0.0.1:${uas.port}`,
      });
      expect(point.status).toBe(200);
      let res;
      for (let attempt = 0; attempt < 15; attempt += 1) {
        res = await gw.request('POST', '/api/calls', {
          trunk_id: 'recording_s3_out',
          to_number: '+15551230077',
          agent_profile_id: profileId,
          ringing_timeout_seconds: 10,
          recording: { format: 'wav', channels: 'mixed', retention_days: 2 },
        });
        // LiveKit SIP refuses calls while the machine's CPU is over its cap: retried, bounded.
        if (!(res.status === 503 && String(res.body?.message).includes('cpu exhausted'))) break;
        await sleep(2000);
      }
      expect(res!.status, JSON.stringify(res!.body)).toBe(201);
      const callId = res!.body.id as string;
      const capturing = await recording(callId, (d) => d.status === 'recording', 20_000);
      expect(capturing).toMatchObject({ storage: 'local', format: 'ogg', channels: 'stereo' });
      await sleep(4000);
      const hangup = await gw.request('POST', `/api/calls/${callId}/hangup`);
      expect(hangup.status, JSON.stringify(hangup.body)).toBe(200);

      const data = await recording(callId, (d) => d.storage === 's3');
      expect(data).toMatchObject({ status: 'ready', format: 'wav', channels: 'mixed' });
      expect(data.object_key).toMatch(/\.wav$/);
      const got = await download(`${gw.url}/api/calls/${callId}/recording`, asAdmin());
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('audio/wav');
      const info = probe(got.body, 'wav');
      console.log(`outbound call: ${info.duration.toFixed(2)} s mixed WAV from the bucket`);
      expect(info).toMatchObject({ codec_name: 'pcm_s16le', channels: 1 });
      expect(info.duration).toBeGreaterThan(3);
    } finally {
      uas.stop();
    }
  }, 90_000);

  it('deletes the object from the bucket when the retention ends and answers 410', async () => {
    // Age the recording past its one-day retention; the API's sweep runs every second here.
    const data = await recording(first.callId, (d) => d.storage === 's3');
    await gw.api.database.db
      .updateTable('callEvents')
      .set({
        data: JSON.stringify({ ...data, delete_after: new Date(Date.now() - 1000).toISOString() }),
      })
      .where('callId', '=', first.callId)
      .where('type', '=', 'recording')
      .execute();
    const deleted = await recording(first.callId, (d) => d.status === 'deleted', 15_000);
    expect(deleted.deleted_at).toBeDefined();
    expect((await bucketObjects()).has(first.key)).toBe(false);
    const gone = await download(`${gw.url}/api/calls/${first.callId}/recording`, asAdmin());
    expect(gone.status).toBe(410);
  }, 30_000);
});
