import { describe, expect, it } from 'vitest';
import { effectiveRecording } from '../../src/agent/call-recording.js';
import { profileSettingsSchema } from '../../src/agent/profile.js';
import { outboundCallSchema } from '../../src/calls/outbound-input.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';

const s3Env = {
  RECORDINGS_STORAGE: 's3',
  RECORDINGS_S3_ENDPOINT: 'http://127.0.0.1:9000',
  RECORDINGS_S3_BUCKET: 'calls',
  RECORDINGS_S3_ACCESS_KEY_ID: 'gateway',
  RECORDINGS_S3_SECRET_ACCESS_KEY: 'very-secret-key',
};

describe('recordings storage configuration', () => {
  it('keeps recordings local unless RECORDINGS_STORAGE=s3', () => {
    expect(loadConfig({}).recordings.s3).toBeUndefined();
    expect(loadConfig({ ...s3Env, RECORDINGS_STORAGE: '' }).recordings.s3).toBeUndefined();
    expect(loadConfig({ ...s3Env, RECORDINGS_STORAGE: 'local' }).recordings.s3).toBeUndefined();
    expect(loadConfig(s3Env).recordings.s3).toMatchObject({
      bucket: 'calls',
      prefix: 'recordings/',
      forcePathStyle: false,
      credentials: { accessKeyId: 'gateway' },
    });
  });

  it('names the missing bucket and a half-given key pair without echoing the secret', () => {
    expect(() => loadConfig({ RECORDINGS_STORAGE: 's3' })).toThrow(/RECORDINGS_S3_BUCKET/);
    let error: unknown;
    try {
      loadConfig({ ...s3Env, RECORDINGS_S3_ACCESS_KEY_ID: '' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/RECORDINGS_S3_ACCESS_KEY_ID: set both/);
    expect(String(error)).not.toContain('very-secret-key');
    expect(() => loadConfig({ ...s3Env, RECORDINGS_S3_BUCKET: 'No_Such Bucket' })).toThrow(
      /RECORDINGS_S3_BUCKET/,
    );
  });
});

describe("a call's own recording setting", () => {
  const profile = profileSettingsSchema.parse({
    recording: { format: 'ogg', channels: 'stereo', announce: 'This call is recorded.' },
  });
  const unrecorded = profileSettingsSchema.parse({});

  it("overrides the profile's, and false turns the profile's off", () => {
    const wav = { enabled: true, format: 'wav', channels: 'mixed', retention_days: 7 };
    expect(effectiveRecording(unrecorded, JSON.stringify({ recording: wav }))).toEqual(wav);
    expect(effectiveRecording(profile, JSON.stringify({ recording: wav }))?.format).toBe('wav');
    expect(effectiveRecording(profile, JSON.stringify({ recording: false }))).toBeUndefined();
    expect(effectiveRecording(profile, JSON.stringify({ call_id: 'x' }))?.announce).toBe(
      'This call is recorded.',
    );
    expect(effectiveRecording(unrecorded, undefined)).toBeUndefined();
  });

  it("falls back to the profile's when the metadata's setting cannot be read", () => {
    const meta = JSON.stringify({ agent_profile_id: 'p', recording: { format: 'mp3' } });
    expect(effectiveRecording(profile, meta)?.format).toBe('ogg');
  });

  it('is validated like a profile\'s, naming the field inside "recording"', () => {
    const base = { trunk_id: 'out', to_number: '+15551230000' };
    const bad = outboundCallSchema.safeParse({ ...base, recording: { format: 'mp3' } });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['recording.format']);
    const extra = outboundCallSchema.safeParse({ ...base, recording: { bitrate: 8 } });
    expect(extra.error?.issues[0]?.path.join('.')).toBe('recording');
    expect(extra.error?.issues[0]?.message).toMatch(/bitrate/);
    const notObject = outboundCallSchema.safeParse({ ...base, recording: true });
    expect(notObject.error?.issues[0]?.message).toMatch(/false \(no recording\) or an object/);
    const on = outboundCallSchema.parse({ ...base, recording: { channels: 'mixed' } });
    expect(on.recording).toEqual({
      enabled: true,
      format: 'ogg',
      channels: 'mixed',
      retention_days: 90,
    });
    expect(outboundCallSchema.parse({ ...base, recording: false }).recording).toBe(false);
  });
});
