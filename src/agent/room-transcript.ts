import { ParticipantKind, type RemoteParticipant, type Room } from '@livekit/rtc-node';

/**
 * What the agent says, sent into the room as LiveKit Agents 1.x send transcripts (a text
 * stream on `lk.transcription`), for a web caller's page to show. The agents-library session
 * (pipeline mode) sends its own; the offline path has none, so it sends these. A phone caller
 * cannot read them: nothing is sent for one.
 */
export function roomTranscript(
  room: Room,
  caller: RemoteParticipant,
): ((text: string) => void) | undefined {
  if (caller.kind === ParticipantKind.SIP) return undefined;
  let segment = 0;
  return (text) => {
    segment += 1;
    void room.localParticipant
      ?.sendText(text, {
        topic: 'lk.transcription',
        destinationIdentities: [caller.identity],
        attributes: { 'lk.transcription_final': 'true', 'lk.segment_id': `agent-${segment}` },
      })
      .catch(() => undefined);
  };
}
