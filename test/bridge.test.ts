import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  AudioStream,
  dispose,
  Room,
  RoomEvent,
  TrackKind,
  type RemoteParticipant,
  type RemoteTrack,
} from '@livekit/rtc-node';
import { jwtVerify } from 'jose';
import { AccessToken } from 'livekit-server-sdk';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AiPlatformBridge,
  BridgeConfigError,
  bridgeOptionsFromProfile,
  reconnectDelayMs,
  resolveBridgeOptions,
  runBridgeSession,
  type BridgeCallInfo,
  type BridgeOptions,
  type BridgeSession,
} from '../src/agent/bridge/index.js';
import { startToneParticipant, type ToneParticipant } from './helpers/tone-participant.js';
import { eventually } from './helpers/wait.js';

const stack = inject('stack');
const JWT_SECRET = `jwt-${randomBytes(24).toString('hex')}`;
const HMAC_SECRET = `hmac-${randomBytes(24).toString('hex')}`;

interface Received {
  at: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  msg: any;
}

interface Connection {
  socket: WebSocket;
  messages: Received[];
}

/** Stand-in for a customer's AI platform: a loopback WebSocket server recording every frame. */
class PlatformStandIn {
  readonly connections: Connection[] = [];
  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (socket) => {
      const connection: Connection = { socket, messages: [] };
      this.connections.push(connection);
      socket.on('message', (data) => {
        connection.messages.push({ at: Date.now(), msg: JSON.parse(String(data)) });
      });
    });
  }

  static async start(options: { autoPong?: boolean } = {}): Promise<PlatformStandIn> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    await new Promise((resolve) => server.once('listening', resolve));
    return new PlatformStandIn(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/bridge`;
  }

  audio(connection: Connection): Received[] {
    return connection.messages.filter((m) => m.msg.type === 'audio_data');
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The caller's ears: level and zero crossings of every frame of the agent's track. */
interface HeardFrame {
  at: number;
  rms: number;
  crossings: number;
  samples: number;
}

interface Call {
  platform: PlatformStandIn;
  agentRoom: Room;
  caller: ToneParticipant;
  session: BridgeSession;
  heard: HeardFrame[];
  info: BridgeCallInfo;
  logs: string[];
  end(): Promise<void>;
}

function tone(hz: number, seconds: number, rate: number, amplitude = 10_000): Buffer {
  const bytes = Buffer.alloc(Math.round(seconds * rate) * 2);
  for (let i = 0; i < bytes.length / 2; i += 1) {
    bytes.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  }
  return bytes;
}

function zeroCrossings(samples: ArrayLike<number>): number {
  let count = 0;
  for (let i = 1; i < samples.length; i += 1) {
    if (samples[i - 1]! < 0 !== samples[i]! < 0) count += 1;
  }
  return count;
}

function decodePcm(base64: string): Int16Array {
  const bytes = Buffer.from(base64, 'base64');
  const samples = new Int16Array(bytes.length / 2);
  for (let i = 0; i < samples.length; i += 1) samples[i] = bytes.readInt16LE(i * 2);
  return samples;
}

async function joinRoom(room: string, identity: string): Promise<Room> {
  const token = new AccessToken(stack.apiKey, stack.apiSecret, { identity });
  token.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  const lk = new Room();
  await lk.connect(stack.livekitWsUrl, await token.toJwt(), {
    autoSubscribe: true,
    dynacast: false,
  });
  return lk;
}

function listenToAgent(caller: ToneParticipant, heard: HeardFrame[]): () => Promise<void> {
  let stopped = false;
  const readers: Promise<void>[] = [];
  caller.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub, participant) => {
    if (participant.identity !== 'agent-worker' || track.kind !== TrackKind.KIND_AUDIO) return;
    const reader = new AudioStream(track, { sampleRate: 48_000, numChannels: 1 }).getReader();
    readers.push(
      (async () => {
        while (!stopped) {
          const { done, value } = await reader.read();
          if (done) return;
          let sum = 0;
          for (const s of value.data) sum += s * s;
          heard.push({
            at: Date.now(),
            rms: Math.sqrt(sum / value.data.length),
            crossings: zeroCrossings(value.data),
            samples: value.data.length,
          });
        }
        await reader.cancel();
      })(),
    );
  });
  return async () => {
    stopped = true;
    await Promise.all(readers);
  };
}

async function startCall(
  bridge: Partial<BridgeOptions> = {},
  platformOptions: { autoPong?: boolean } = {},
): Promise<Call> {
  const platform = await PlatformStandIn.start(platformOptions);
  const roomName = `bridge-${randomBytes(4).toString('hex')}`;
  const agentRoom = await joinRoom(roomName, 'agent-worker');
  const caller = await startToneParticipant({
    wsUrl: stack.livekitWsUrl,
    apiKey: stack.apiKey,
    apiSecret: stack.apiSecret,
    room: roomName,
    identity: 'caller',
    seconds: 60,
  });
  const heard: HeardFrame[] = [];
  const stopListening = listenToAgent(caller, heard);
  const remote = await eventually(async () => agentRoom.remoteParticipants.get('caller'));
  if (!remote) throw new Error('the caller never appeared in the agent room');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const info: BridgeCallInfo = {
    callId: `call-${randomBytes(6).toString('hex')}`,
    conversationId: 'conv-123',
    fromNumber: '+15550100001',
    toNumber: '+15550100002',
    direction: 'incoming',
    codec: 'PCMU',
    sampleRate: 8000,
  };
  const session = await runBridgeSession({
    room: agentRoom,
    caller: remote as RemoteParticipant,
    call: info,
    bridge: {
      url: platform.url,
      jwtSecret: JWT_SECRET,
      hmacSecret: HMAC_SECRET,
      ...bridge,
    },
    logger: pino({ level: 'info' }, sink),
  });
  return {
    platform,
    agentRoom,
    caller,
    session,
    heard,
    info,
    logs,
    async end() {
      await session.close();
      await stopListening();
      await caller.stop();
      await agentRoom.disconnect();
      await platform.close();
    },
  };
}

async function audioFrames(platform: PlatformStandIn, connection: number, count: number) {
  const frames = await eventually(async () => {
    const c = platform.connections[connection];
    const audio = c ? platform.audio(c) : [];
    return audio.length >= count ? audio : undefined;
  }, 20_000);
  if (!frames) throw new Error(`fewer than ${count} audio frames on connection ${connection}`);
  return frames;
}

async function verifyAuth(msg: Received['msg'], info: BridgeCallInfo) {
  expect(msg.type).toBe('auth');
  expect(msg.call).toEqual({
    conversation_id: info.conversationId,
    from_number: info.fromNumber,
    to_number: info.toNumber,
    direction: 'incoming',
    codec: 'PCMU',
    sample_rate: 8000,
  });
  const { token, signature, timestamp, call_id } = msg.auth;
  expect(call_id).toBe(info.callId);
  expect(token).toMatch(/^Bearer /);
  const { payload, protectedHeader } = await jwtVerify(
    token.slice('Bearer '.length),
    new TextEncoder().encode(JWT_SECRET),
    { issuer: 'voice-gateway', subject: info.callId, algorithms: ['HS256'] },
  );
  expect(protectedHeader.alg).toBe('HS256');
  expect(payload.exp! - payload.iat!).toBe(300);
  expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(30);
  expect(timestamp).toMatch(/^\d+$/);
  expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
  const expected = createHmac('sha256', HMAC_SECRET).update(`${timestamp}.${call_id}`).digest();
  expect(timingSafeEqual(Buffer.from(signature, 'hex'), expected)).toBe(true);
  // The JWT key and the HMAC key are separate: the token does not verify with the HMAC key.
  await expect(jwtVerify(token.slice(7), new TextEncoder().encode(HMAC_SECRET))).rejects.toThrow();
}

afterAll(async () => {
  await dispose();
});

describe('a call bridged to a customer AI platform', () => {
  let call: Call;
  beforeAll(async () => {
    call = await startCall();
  });
  afterAll(async () => {
    await call?.end();
  });

  it('authenticates first with a JWT and an HMAC signature the platform can verify', async () => {
    await audioFrames(call.platform, 0, 1);
    const first = call.platform.connections[0]!.messages[0]!;
    await verifyAuth(first.msg, call.info);
  });

  it("streams the caller's tone as 20 ms frames of 16 kHz PCM, 50 a second, in sequence", async () => {
    const frames = await audioFrames(call.platform, 0, 250);
    frames.forEach(({ msg }, index) => {
      expect(Object.keys(msg.data).sort()).toEqual(['audio', 'call_id', 'sequence', 'timestamp']);
      expect(msg.data.call_id).toBe(call.info.callId);
      expect(msg.data.sequence).toBe(index);
      expect(Buffer.from(msg.data.audio, 'base64').length).toBe(640);
      expect(Math.abs(msg.data.timestamp - Date.now() / 1000)).toBeLessThan(60);
    });
    const steady = frames.slice(50, 250);
    const seconds = (steady.at(-1)!.at - steady[0]!.at) / 1000;
    const perSecond = (steady.length - 1) / seconds;
    console.log(`audio_data frames per second: ${perSecond.toFixed(1)}`);
    expect(perSecond).toBeGreaterThan(45);
    expect(perSecond).toBeLessThan(55);
    // 440 Hz at 16 kHz: 880 zero crossings a second. Another rate or garbled audio would not.
    const pcm = steady.map(({ msg }) => decodePcm(msg.data.audio));
    const joined = Int16Array.from(pcm.flatMap((p) => Array.from(p)));
    const hz = zeroCrossings(joined) / 2 / (joined.length / 16_000);
    const rms = Math.sqrt(joined.reduce((s, v) => s + v * v, 0) / joined.length);
    console.log(`tone heard by the platform: ${hz.toFixed(1)} Hz, rms ${rms.toFixed(0)}`);
    expect(hz).toBeGreaterThan(430);
    expect(hz).toBeLessThan(450);
    expect(rms).toBeGreaterThan(2_000);
  });

  it('forwards DTMF pressed by the caller', async () => {
    await call.caller.room.localParticipant!.publishDtmf(5, '5');
    await call.caller.room.localParticipant!.publishDtmf(11, '#');
    const digits = await eventually(async () => {
      const dtmf = call.platform.connections[0]!.messages.filter((m) => m.msg.type === 'dtmf');
      return dtmf.length >= 2 ? dtmf.map((m) => m.msg) : undefined;
    });
    expect(digits).toEqual([
      { type: 'dtmf', data: { call_id: call.info.callId, digit: '5', duration_ms: 100 } },
      { type: 'dtmf', data: { call_id: call.info.callId, digit: '#', duration_ms: 100 } },
    ]);
  });

  it("plays the platform's response audio to the caller and reports its text", async () => {
    const texts: string[] = [];
    call.session.on('agentText', (text) => texts.push(text));
    const before = call.heard.filter((f) => f.rms > 500).length;
    expect(before).toBe(0); // nothing but silence until the platform speaks
    const sentAt = Date.now();
    call.platform.connections[0]!.socket.send(
      JSON.stringify({
        type: 'response',
        data: {
          text: 'How can I help you?',
          audio: tone(1_000, 1, 16_000).toString('base64'),
        },
      }),
    );
    const loud = await eventually(async () => {
      const frames = call.heard.filter((f) => f.at >= sentAt && f.rms > 2_000);
      return frames.length >= 40 ? frames : undefined;
    });
    expect(loud).toBeDefined();
    const firstAudioMs = loud![0]!.at - sentAt;
    const crossings = loud!.reduce((n, f) => n + f.crossings, 0);
    const seconds = loud!.reduce((n, f) => n + f.samples, 0) / 48_000;
    const hz = crossings / 2 / seconds;
    console.log(`caller heard the response after ${firstAudioMs} ms, at ${hz.toFixed(0)} Hz`);
    expect(hz).toBeGreaterThan(950);
    expect(hz).toBeLessThan(1_050);
    expect(texts).toEqual(['How can I help you?']);
    // One second of 16 kHz audio is 50 frames of 20 ms at 48 kHz.
    await eventually(async () => (call.session.stats().playedFrames >= 50 ? true : undefined));
    expect(call.session.stats().playedFrames).toBe(50);
  });

  it('stops playing at once when the platform sends clear (barge-in)', async () => {
    const sentAt = Date.now();
    const socket = call.platform.connections[0]!.socket;
    socket.send(
      JSON.stringify({
        type: 'response',
        data: { audio: tone(600, 4, 24_000).toString('base64'), sample_rate: 24_000 },
      }),
    );
    await eventually(async () =>
      call.heard.some((f) => f.at >= sentAt && f.rms > 2_000) ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const clearedAt = Date.now();
    socket.send(JSON.stringify({ type: 'clear' }));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const lastLoud = call.heard.filter((f) => f.rms > 2_000).at(-1)!;
    console.log(`audio stopped ${lastLoud.at - clearedAt} ms after clear`);
    expect(lastLoud.at - clearedAt).toBeLessThan(500);
    expect(call.heard.at(-1)!.at).toBeGreaterThan(clearedAt + 1_000); // track still alive
  });

  it('passes hangup and transfer requests to the worker as events', async () => {
    const hangup = new Promise((resolve) => call.session.once('hangup', resolve));
    const transfer = new Promise((resolve) => call.session.once('transfer', resolve));
    const socket = call.platform.connections[0]!.socket;
    socket.send(JSON.stringify({ type: 'transfer', data: { to: '+15550100003' } }));
    // Cold when the frame names no mode.
    expect(await transfer).toEqual({ to: '+15550100003', mode: 'cold' });
    const warm = new Promise((resolve) => call.session.once('transfer', resolve));
    const summary = 'The caller wants to change a booking.';
    socket.send(
      JSON.stringify({ type: 'transfer', data: { to: '+15550100004', mode: 'warm', summary } }),
    );
    expect(await warm).toEqual({ to: '+15550100004', mode: 'warm', summary });
    socket.send(JSON.stringify({ type: 'hangup', data: { reason: 'caller is done' } }));
    expect(await hangup).toEqual({ reason: 'caller is done' });
  });

  it('logs and ignores malformed frames without their content, and keeps going', async () => {
    const socket = call.platform.connections[0]!.socket;
    const sentBefore = call.session.stats().framesSent;
    const texts: string[] = [];
    call.session.on('agentText', (text) => texts.push(text));
    socket.send('not json secret-payload-1');
    socket.send(JSON.stringify({ type: 'response', data: { audio: 'secret-payload-2!!' } }));
    socket.send(JSON.stringify({ type: 'mystery', data: 'secret-payload-3' }));
    socket.send(Buffer.from('secret-payload-4'), { binary: true });
    socket.send(JSON.stringify({ type: 'transfer', data: { number: 'secret-payload-5' } }));
    socket.send(JSON.stringify({ type: 'response', data: { audio: 'AAAA', sample_rate: 3 } }));
    socket.send(JSON.stringify({ type: 'response', data: { text: 'still here' } }));
    await eventually(async () => (texts.length > 0 ? true : undefined));
    expect(texts).toEqual(['still here']);
    const stats = call.session.stats();
    expect(stats.malformedFrames).toBe(6);
    expect(stats.reconnects).toBe(0);
    const warnings = call.logs.filter((l) => l.includes('ignored malformed frame'));
    expect(warnings).toHaveLength(6);
    expect(call.logs.join('')).not.toContain('secret-payload');
    expect(call.logs.join('')).not.toContain(JWT_SECRET);
    expect(call.logs.join('')).not.toContain(HMAC_SECRET);
    await eventually(async () =>
      call.session.stats().framesSent > sentBefore + 25 ? true : undefined,
    );
    expect(call.session.stats().framesSent).toBeGreaterThan(sentBefore + 25);
  });
});

describe('platform connection trouble', () => {
  it('reconnects after the platform drops the socket: auth again, sequence continues', async () => {
    const call = await startCall({ reconnect: { baseDelayMs: 300, maxDelayMs: 1_000 } });
    try {
      const events: string[] = [];
      call.session.on('disconnected', (e) => events.push(`disconnected:${e.willReconnect}`));
      call.session.on('connected', (e) => events.push(`connected:${e.reconnect}`));
      const first = await audioFrames(call.platform, 0, 100);
      call.platform.connections[0]!.socket.terminate();
      const second = await audioFrames(call.platform, 1, 100);
      await verifyAuth(call.platform.connections[1]!.messages[0]!.msg, call.info);
      const lastBefore = first.at(-1)!.msg.data.sequence;
      const firstAfter = second[0]!.msg.data.sequence;
      console.log(`sequence ${lastBefore} before the drop, ${firstAfter} after`);
      expect(firstAfter).toBeGreaterThan(lastBefore);
      expect(firstAfter - lastBefore).toBeLessThanOrEqual(3); // at most frames lost in flight
      second.forEach(({ msg }, i) => expect(msg.data.sequence).toBe(firstAfter + i));
      const stats = call.session.stats();
      console.log(`reconnect stats: ${JSON.stringify(stats)}`);
      expect(stats.reconnects).toBe(1);
      expect(stats.framesDropped).toBeGreaterThan(5); // >= 150 ms of backoff, not buffered
      expect(events).toEqual(['connected:false', 'disconnected:true', 'connected:true']);
    } finally {
      await call.end();
    }
  });

  it('gives up after the configured attempts when the platform stays away; the call survives', async () => {
    const call = await startCall({
      reconnect: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 200 },
    });
    try {
      await audioFrames(call.platform, 0, 10);
      const failed = new Promise((resolve) => call.session.once('failed', resolve));
      await call.platform.close(); // gone: every reconnect is refused
      expect(await failed).toEqual({ reason: 'gave-up' });
      const stats = call.session.stats();
      expect(stats.connectAttempts).toBe(3);
      const dropped = stats.framesDropped;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Caller audio still flows in the room and is counted as dropped, not queued.
      expect(call.session.stats().framesDropped).toBeGreaterThan(dropped + 30);
      expect(call.agentRoom.isConnected).toBe(true);
    } finally {
      await call.end();
    }
  });

  it('treats a platform that stops answering pings as gone and reconnects', async () => {
    const call = await startCall({ pingIntervalMs: 1_000 }, { autoPong: false });
    try {
      await audioFrames(call.platform, 0, 1);
      const second = await audioFrames(call.platform, 1, 1);
      expect(second[0]!.at - call.platform.connections[0]!.messages[0]!.at).toBeLessThan(4_000);
      expect(call.session.stats().reconnects).toBe(1);
    } finally {
      await call.end();
    }
  });

  it('ends by itself when the caller leaves, closing the platform socket normally', async () => {
    const call = await startCall();
    try {
      await audioFrames(call.platform, 0, 5);
      const closedCode = new Promise((resolve) =>
        call.platform.connections[0]!.socket.once('close', resolve),
      );
      const closed = new Promise((resolve) => call.session.once('closed', resolve));
      await call.caller.stop();
      expect(await closed).toEqual({ reason: 'caller-left' });
      expect(await closedCode).toBe(1000);
      const sent = call.session.stats().framesSent;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(call.session.stats().framesSent).toBe(sent);
    } finally {
      await call.end();
    }
  });

  it('does not reconnect when the platform refuses the call with close code 1008', async () => {
    const call = await startCall();
    try {
      await audioFrames(call.platform, 0, 1);
      const failed = new Promise((resolve) => call.session.once('failed', resolve));
      call.platform.connections[0]!.socket.close(1008, 'bad signature');
      expect(await failed).toEqual({ reason: 'refused' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(call.platform.connections).toHaveLength(1);
    } finally {
      await call.end();
    }
  });
});

describe('platform connection trouble without a room', () => {
  const logger = pino({ level: 'silent' });
  const info: BridgeCallInfo = {
    callId: 'c-refused',
    conversationId: 'conv',
    fromNumber: '+15550100001',
    toNumber: '+15550100002',
    direction: 'outgoing',
    codec: 'PCMA',
    sampleRate: 8000,
  };

  it('gives up at once when the platform answers the upgrade with 401', async () => {
    let upgrades = 0;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (_info, done) => {
        upgrades += 1;
        done(false, 401);
      },
    });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    const bridge = new AiPlatformBridge(
      { url: `ws://127.0.0.1:${port}/`, jwtSecret: JWT_SECRET, hmacSecret: HMAC_SECRET },
      info,
      logger,
    );
    try {
      const failed = new Promise((resolve) => bridge.once('failed', resolve));
      bridge.start();
      expect(await failed).toEqual({ reason: 'refused' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(upgrades).toBe(1);
      expect(bridge.state).toBe('failed');
      expect(bridge.sendAudio(new Int16Array(320))).toBe(false);
      expect(bridge.stats().framesDropped).toBe(1);
    } finally {
      await bridge.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('bridge options', () => {
  const call: BridgeCallInfo = {
    callId: 'c1',
    conversationId: 'conv',
    fromNumber: '+15550100001',
    toNumber: '+15550100002',
    direction: 'incoming',
    codec: 'PCMU',
    sampleRate: 8000,
  };
  const logger = pino({ level: 'silent' });
  const good = { url: 'wss://ai.example/ws', jwtSecret: JWT_SECRET, hmacSecret: HMAC_SECRET };

  it.each([
    [{ ...good, url: 'ws://ai.example/ws' }, /url: url must use wss:\/\/ unless/],
    [{ ...good, url: 'https://ai.example/ws' }, /url: url must be a ws:\/\/ or wss:\/\/ URL/],
    [{ ...good, jwtSecret: 'short' }, /jwtSecret: jwtSecret must be at least 32 bytes/],
    [{ ...good, hmacSecret: JWT_SECRET }, /hmacSecret: hmacSecret must differ from jwtSecret/],
    [{ ...good, reconnect: { maxAttempts: -1 } }, /reconnect\.maxAttempts/],
  ])('refuses bad options with an error naming the field (%#)', (options, message) => {
    const make = () => new AiPlatformBridge(options as BridgeOptions, call, logger);
    expect(make).toThrow(BridgeConfigError);
    expect(make).toThrow(message);
  });

  it('accepts plain ws:// only to loopback, or when allowInsecure is set', () => {
    for (const url of ['ws://127.0.0.1:9000/x', 'ws://[::1]:9000/x', 'ws://localhost/x']) {
      expect(resolveBridgeOptions({ ...good, url }).url).toBe(url);
    }
    const insecure = resolveBridgeOptions({
      ...good,
      url: 'ws://ai.example/ws',
      allowInsecure: true,
    });
    expect(insecure.url).toBe('ws://ai.example/ws');
  });

  it('reads the secrets from the environment variables a profile names', () => {
    const settings = {
      url: 'wss://ai.example/ws',
      jwt_secret_env: 'TEST_BRIDGE_JWT',
      hmac_secret_env: 'TEST_BRIDGE_HMAC',
    };
    const env = { TEST_BRIDGE_JWT: JWT_SECRET, TEST_BRIDGE_HMAC: HMAC_SECRET };
    const options = resolveBridgeOptions(bridgeOptionsFromProfile(settings, env));
    expect(options).toMatchObject({ jwtSecret: JWT_SECRET, hmacSecret: HMAC_SECRET });
    expect(() => bridgeOptionsFromProfile(settings, { TEST_BRIDGE_JWT: JWT_SECRET })).toThrow(
      /environment variable TEST_BRIDGE_HMAC \(bridge.hmac_secret_env\) is not set/,
    );
  });

  it('backs off exponentially with jitter, capped', () => {
    const timing = { baseDelayMs: 250, maxDelayMs: 5_000 };
    const caps = [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000];
    caps.forEach((cap, i) => {
      expect(reconnectDelayMs(i + 1, timing, () => 0)).toBe(cap / 2);
      expect(reconnectDelayMs(i + 1, timing, () => 0.999999)).toBe(cap);
    });
  });

  it('never puts a secret in the error', () => {
    const make = () =>
      new AiPlatformBridge({ ...good, hmacSecret: JWT_SECRET } as BridgeOptions, call, logger);
    expect(make).toThrow(BridgeConfigError);
    try {
      make();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(JWT_SECRET);
    }
  });
});
