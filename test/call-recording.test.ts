import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SecretBox } from '../src/db/index.js';
import { recordingDeps, sweepRecordings } from '../src/recordings/index.js';
import { signRecordingLink } from '../src/recordings/links.js';
import { loadConfig } from '../src/config/index.js';
import { agentLine, loopbackTrunk } from './helpers/agent-line.js';
import { startAgentWorker, type TestAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer, speechAsUlaw } from './helpers/rtp-peer.js';
import { sippAgentCall } from './helpers/sipp-caller.js';
import { eventually } from './helpers/wait.js';

// Recorded phone calls on the real stack: sipp dials LiveKit SIP, the agent worker records with
// the agents library's recorder, the API serves the file. ffprobe/ffmpeg are the oracle.

const stack = inject('stack');
const AGENT = 'call-recording-test';
const STEREO = '+15551250000';
const MIXED = '+15551250001';
const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'vg-recordings-'));
let gw: TestGateway;
let worker: TestAgentWorker;

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      API_PORT: String(stack.webhookPort),
      AGENT_NAME: AGENT,
      RECORDINGS_DIR: recordingsDir,
      RECORDINGS_SWEEP_INTERVAL_SECONDS: '1',
    },
  });
  await clearLivekitSip(gw.sip);
  await loopbackTrunk(gw, 'recording_test', [STEREO, MIXED]);
  const profiles = {
    [STEREO]: { format: 'ogg', channels: 'stereo', announce: 'This call is recorded.' },
    [MIXED]: { format: 'wav', channels: 'mixed' },
  };
  for (const [number, recording] of Object.entries(profiles)) {
    await agentLine(gw, {
      trunkId: 'recording_test',
      name: `recorded-${recording.channels}`,
      numbers: [number],
      settings: {
        mode: 'offline',
        greeting: 'Welcome to the recorded line.',
        replies: ['Thank you for telling me.'],
        recording: { enabled: true, retention_days: 1, ...recording },
      },
    });
  }
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
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probe(file: string): { duration: number; channels: number; codec: string } {
  const out = execFileSync('ffprobe', [
    ...['-v', 'error', '-select_streams', 'a:0'],
    ...['-show_entries', 'stream=channels,codec_name:format=duration', '-of', 'json', file],
  ]).toString();
  const json = JSON.parse(out) as {
    streams: { channels: number; codec_name: string }[];
    format: { duration: string };
  };
  return {
    duration: Number(json.format.duration),
    channels: json.streams[0]!.channels,
    codec: json.streams[0]!.codec_name,
  };
}

/** RMS of each channel per 100 ms window, decoded by ffmpeg at 8 kHz. */
function levels(file: string, channels: number): number[][] {
  const pcm = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-f', 's16le', '-ac', String(channels), '-ar', '8000', '-'],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
  const window = 800 * channels;
  const out: number[][] = Array.from({ length: channels }, () => []);
  for (let at = 0; at + window <= samples.length; at += window) {
    for (let ch = 0; ch < channels; ch++) {
      let sum = 0;
      for (let i = at + ch; i < at + window; i += channels) sum += samples[i]! ** 2;
      out[ch]!.push(Math.sqrt(sum / 800));
    }
  }
  return out;
}

const LOUD = 300;
const loudIn = (rms: number[], fromS: number, toS: number) =>
  rms.slice(Math.round(fromS * 10), Math.round(toS * 10)).filter((v) => v > LOUD).length;

interface MeasuredCall {
  callId: string;
  /** Seconds from the first RTP packet the caller got (answer) to the caller's BYE. */
  seconds: number;
  /** Seconds after the answer the caller started speaking. */
  spokeAt: number;
  /** Unix ms of the caller's first RTP packet. */
  answeredAt: number;
}

/** A call in which the caller speaks once after the greeting, then hangs up after `holdMs`. */
async function recordedCall(number: string, caller: string, holdMs: number) {
  const phone = await RtpPeer.open();
  const call = sippAgentCall({
    host: stack.sipHost,
    port: stack.sipPort,
    number,
    caller,
    rtpPort: phone.port,
    holdMs,
  });
  let answeredAt = 0;
  const firstPacket = (async () => {
    const deadline = Date.now() + 30_000;
    while (phone.heard.frames === 0 && Date.now() < deadline) await sleep(5);
    answeredAt = Date.now();
  })();
  try {
    const greeted = await eventually(async () => phone.heard.firstSoundAt, 30_000);
    if (!greeted) {
      call.stop();
      const sipp = await call.done;
      throw new Error(
        `no greeting heard; sipp: ${sipp.stdout.slice(-1500)} ${sipp.stderr.slice(-1500)}`,
      );
    }
    await firstPacket;
    // After the announcement and the greeting (about 4 s), the caller speaks.
    await sleep(Math.max(0, answeredAt + 6000 - Date.now(), greeted + 5000 - Date.now()));
    const spokeAt = (Date.now() - answeredAt) / 1000;
    phone.say(speechAsUlaw('Hello, I would like to book a table for two people tonight.'));
    const sipp = await call.done;
    const endedAt = Date.now();
    expect(sipp.code, sipp.stderr).toBe(0);
    const callId = await eventually(async () => {
      const list = await gw.request('GET', '/api/calls?limit=20');
      return (list.body.items as { id: string; from_number: string }[]).find(
        (c) => c.from_number === caller,
      )?.id;
    });
    return { callId: callId!, seconds: (endedAt - answeredAt) / 1000, spokeAt, answeredAt };
  } finally {
    call.stop();
    phone.close();
  }
}

async function recordingEvent(callId: string, status: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const call = await gw.request('GET', `/api/calls/${callId}`);
    const event = (call.body.events as { type: string; data: Record<string, unknown> }[])
      .filter((e) => e.type === 'recording')
      .at(-1);
    return event?.data.status === status ? event.data : undefined;
  }, timeoutMs);
}

async function download(url: string, key: string | null = gw.adminKey) {
  const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

function saved(body: Buffer, ext: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'vg-rec-dl-')), `call.${ext}`);
  writeFileSync(file, body);
  return file;
}

describe('call recordings', () => {
  let stereo: MeasuredCall;

  it('records both sides in stereo OGG: as long as the call, the caller left, the agent right', async () => {
    stereo = await recordedCall(STEREO, '+15557200001', 16_000);
    const data = await recordingEvent(stereo.callId, 'ready');
    expect(data, 'no finished recording reported').toBeDefined();
    expect(data!.format).toBe('ogg');

    const viewer = await gw.keyFor('viewer');
    const got = await download(`${gw.url}/api/calls/${stereo.callId}/recording`, viewer);
    expect(got.status).toBe(200);
    expect(got.type).toBe('audio/ogg');
    const file = saved(got.body, 'ogg');
    const info = probe(file);
    console.log(
      `stereo recording ${info.duration.toFixed(3)} s, call ${stereo.seconds.toFixed(3)} s, ${got.body.length} bytes`,
    );
    const record = (await gw.request('GET', `/api/calls/${stereo.callId}`)).body;
    console.log(
      `agent's answer stamp ${Date.parse(record.answered_at) - stereo.answeredAt} ms after the caller's first packet`,
    );
    expect(info.codec).toBe('opus');
    expect(info.channels).toBe(2);
    expect(Math.abs(info.duration - stereo.seconds)).toBeLessThan(0.5);
    expect(Math.abs(Number(data!.duration_seconds) - info.duration)).toBeLessThan(0.1);

    const [caller, agent] = levels(file, 2) as [number[], number[]];
    // The agent's announcement and greeting open the call, on the right channel only.
    expect(loudIn(agent, 0, stereo.spokeAt)).toBeGreaterThan(15);
    expect(loudIn(caller, 0, stereo.spokeAt - 0.2)).toBeLessThan(3);
    // The caller's sentence (about 3.5 s), on the left.
    const speech = loudIn(caller, stereo.spokeAt, stereo.spokeAt + 4);
    console.log(
      `caller channel: ${speech} loud windows of 40 while speaking; agent channel: ${loudIn(agent, 0, stereo.spokeAt)} before`,
    );
    expect(speech).toBeGreaterThan(12);
    expect(loudIn(agent, stereo.spokeAt + 0.3, stereo.spokeAt + 2.5)).toBeLessThan(5);

    const anonymous = await download(`${gw.url}/api/calls/${stereo.callId}/recording`, null);
    expect(anonymous.status).toBe(401);
  }, 120_000);

  it('sends call.recording_ready with a signed link that works until it expires and refuses tampering', async () => {
    const messages = await eventually(async () => {
      const rows = await gw.api.database.db
        .selectFrom('webhookMessages')
        .select('payload')
        .where('eventType', '=', 'call.recording_ready')
        .execute();
      const mine = rows
        .map((r) => r.payload as { data: { call_id: string; recording: { url: string } } })
        .filter((p) => p.data.call_id === stereo.callId);
      return mine.length ? mine : undefined;
    });
    expect(messages).toHaveLength(1);
    const link = new URL(messages![0]!.data.recording.url);
    expect(link.pathname).toBe(`/recordings/${stereo.callId}`);
    const target = `${gw.url}${link.pathname}${link.search}`;
    const got = await download(target, null);
    expect(got.status).toBe(200);
    expect(got.type).toBe('audio/ogg');
    const direct = await download(`${gw.url}/api/calls/${stereo.callId}/recording`);
    expect(got.body.equals(direct.body)).toBe(true);

    const signature = link.searchParams.get('signature')!;
    const tampered = new URL(target);
    tampered.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3600));
    expect((await download(tampered.toString(), null)).status).toBe(401);
    const flipped = new URL(target);
    flipped.searchParams.set(
      'signature',
      signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA'),
    );
    expect((await download(flipped.toString(), null)).status).toBe(401);

    const key = new SecretBox(gw.encryptionKey).deriveKey('recording-links');
    const past = Math.floor(Date.now() / 1000) - 10;
    const expired = signRecordingLink(key, stereo.callId, past);
    const old = await download(
      `${gw.url}/recordings/${stereo.callId}?expires=${past}&signature=${expired.signature}`,
      null,
    );
    expect(old.status).toBe(403);
  }, 60_000);

  it('mixes both sides into one WAV channel when the profile says so', async () => {
    const mixed = await recordedCall(MIXED, '+15557200002', 12_000);
    const data = await recordingEvent(mixed.callId, 'ready');
    expect(data?.format).toBe('wav');
    const got = await download(`${gw.url}/api/calls/${mixed.callId}/recording`);
    expect(got.status).toBe(200);
    expect(got.type).toBe('audio/wav');
    const file = saved(got.body, 'wav');
    const info = probe(file);
    console.log(`mixed wav ${info.duration.toFixed(3)} s, call ${mixed.seconds.toFixed(3)} s`);
    expect(info.channels).toBe(1);
    expect(info.codec).toBe('pcm_s16le');
    expect(Math.abs(info.duration - mixed.seconds)).toBeLessThan(0.5);
    const [both] = levels(file, 1) as [number[]];
    expect(loudIn(both, 0, mixed.spokeAt)).toBeGreaterThan(10); // the greeting
    expect(loudIn(both, mixed.spokeAt, mixed.spokeAt + 4)).toBeGreaterThan(12); // the caller
  }, 120_000);

  it('keeps what was captured when the call host is killed mid-call', async () => {
    const caller = '+15557200003';
    const phone = await RtpPeer.open();
    const call = sippAgentCall({
      host: stack.sipHost,
      port: stack.sipPort,
      number: STEREO,
      caller,
      rtpPort: phone.port,
      holdMs: 40_000,
    });
    let killedAfterS = 0;
    try {
      const greeted = await eventually(async () => phone.heard.firstSoundAt, 20_000);
      expect(greeted).toBeDefined();
      // The recorder settles the timeline only up to the start of an agent utterance still
      // playing, so the host is killed once the agent has finished answering the caller.
      const agentQuiet = () =>
        eventually(
          async () => phone.soundFramesSince(Date.now() - 2500) === 0 || undefined,
          20_000,
        );
      expect(await agentQuiet(), 'the greeting never ended').toBe(true);
      phone.say(speechAsUlaw('Hello, this part of the call must not be lost.'));
      await sleep(4000);
      expect(await agentQuiet(), 'the answer never ended').toBe(true);
      killedAfterS = (Date.now() - greeted!) / 1000;
      // The call host running the call dies (its ffmpeg sees the end of its input).
      process.kill(worker.pid, 'SIGKILL');
      const sipp = await call.done;
      expect(sipp.code, sipp.stderr).toBe(0);
    } finally {
      call.stop();
      phone.close();
    }
    const callId = (await eventually(async () => {
      const list = await gw.request('GET', '/api/calls?limit=20');
      return (list.body.items as { id: string; from_number: string; status: string }[]).find(
        (c) => c.from_number === caller && c.status === 'ended',
      )?.id;
    }, 30_000))!;
    expect(callId).toBeDefined();
    // The agent died before finishing: the capture it announced is served as it is.
    const data = await recordingEvent(callId, 'recording');
    expect(data).toBeDefined();
    const got = await download(`${gw.url}/api/calls/${callId}/recording`);
    expect(got.status).toBe(200);
    expect(got.type).toBe('audio/ogg');
    const info = probe(saved(got.body, 'ogg'));
    console.log(
      `killed after ${killedAfterS.toFixed(1)} s of call: ${info.duration.toFixed(2)} s captured`,
    );
    // The recorder hands audio to ffmpeg every 2.5 s: at most that much is lost at the end.
    expect(info.duration).toBeGreaterThan(killedAfterS - 4);

    // The API's sweep later keeps it as a partial recording and tells customers.
    const config = loadConfig({
      RECORDINGS_DIR: recordingsDir,
      GATEWAY_ENCRYPTION_KEY: gw.encryptionKey,
    });
    const deps = recordingDeps(
      config,
      gw.api.database.db,
      new SecretBox(gw.encryptionKey),
      gw.api.logger,
    );
    await sweepRecordings(deps, new Date(Date.now() + 5 * 60_000));
    const kept = await recordingEvent(callId, 'partial', 2000);
    expect(kept).toBeDefined();
    expect(Number(kept!.duration_seconds)).toBeCloseTo(info.duration, 0);
  }, 150_000);

  it('deletes recordings past their retention and answers 410 for them', async () => {
    const data = await recordingEvent(stereo.callId, 'ready');
    const file = path.join(recordingsDir, String(data!.file));
    expect(existsSync(file)).toBe(true);
    // Age the recording past its one-day retention; the API's sweep runs every second here.
    await gw.api.database.db
      .updateTable('callEvents')
      .set({
        data: JSON.stringify({ ...data, delete_after: new Date(Date.now() - 1000).toISOString() }),
      })
      .where('callId', '=', stereo.callId)
      .where('type', '=', 'recording')
      .execute();
    const deleted = await recordingEvent(stereo.callId, 'deleted', 10_000);
    expect(deleted?.deleted_at).toBeDefined();
    expect(existsSync(file)).toBe(false);
    const gone = await download(`${gw.url}/api/calls/${stereo.callId}/recording`);
    expect(gone.status).toBe(410);
  }, 30_000);
});
