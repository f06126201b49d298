import {
  AudioSource,
  LocalAudioTrack,
  TrackPublishOptions,
  TrackSource,
  type Room,
} from '@livekit/rtc-node';

export interface PublishedAudio {
  source: AudioSource;
  /** Unpublishes the track (if the room is still there) and closes the source. */
  close(): Promise<void>;
}

/** Publishes a mono microphone track fed by a new AudioSource, for the agent's own audio. */
export async function publishAudioSource(
  room: Room,
  name: string,
  sampleRate: number,
  queueMs: number,
): Promise<PublishedAudio> {
  const local = room.localParticipant;
  if (!local) throw new Error('publishing audio needs a connected room');
  const source = new AudioSource(sampleRate, 1, queueMs);
  const track = LocalAudioTrack.createAudioTrack(name, source);
  const publication = await local
    .publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }))
    .catch(async (error: unknown) => {
      await source.close();
      throw error;
    });
  return {
    source,
    async close() {
      try {
        if (room.isConnected && publication.sid) await local.unpublishTrack(publication.sid);
      } finally {
        await source.close();
      }
    },
  };
}
