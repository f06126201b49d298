import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  TrackPublishOptions,
  TrackSource,
  type Room,
} from '@livekit/rtc-node';

const RATE = 48000;
const SAMPLES = RATE / 50;
// One second of 440 Hz holds whole periods, so 20 ms slices of it loop without a click.
const TONE = Int16Array.from({ length: RATE }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE)),
);

/**
 * What the benches' bare baselines do per call: publish a 440 Hz tone in `room` and feed it in
 * 20 ms frames while `running()` holds, at most 10 minutes (a call the bench forgot still ends).
 */
export async function publishTone(room: Room, running: () => boolean): Promise<void> {
  const source = new AudioSource(RATE, 1);
  const track = LocalAudioTrack.createAudioTrack('tone', source);
  await room.localParticipant!.publishTrack(
    track,
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  for (let n = 0; n < 30_000 && running(); n += 1) {
    const offset = (n * SAMPLES) % RATE;
    await source.captureFrame(
      new AudioFrame(TONE.slice(offset, offset + SAMPLES), RATE, 1, SAMPLES),
    );
  }
}
