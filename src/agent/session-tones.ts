import { TransformStream } from 'node:stream/web';
import { voice } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { InbandKeys } from './call-lifecycle/inband-keys.js';

/**
 * The session's audio input with the in-band DTMF detector on its way: every frame the session
 * reads (VAD and STT both read this one stream) passes the detector once and goes on unchanged.
 * No second stream of the caller, as the agents library's own recorder wraps the input. Mute
 * and hold (setAttached) reach the input underneath, so the detector hears nothing then.
 */
class TonesAudioInput extends voice.AudioInput {
  readonly #source: voice.AudioInput;
  readonly #keys: InbandKeys;
  #started = false;

  constructor(source: voice.AudioInput, keys: InbandKeys) {
    super();
    this.#source = source;
    this.#keys = keys;
  }

  /** Reads the input underneath, which nothing else reads. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const tap = new TransformStream<AudioFrame, AudioFrame>({
      transform: (frame, controller) => {
        this.#keys.push(frame.data, frame.sampleRate);
        controller.enqueue(frame);
      },
    });
    this.multiStream.addInputStream(this.#source.stream.pipeThrough(tap));
  }

  override setAttached(attached: boolean): void {
    super.setAttached(attached);
    if (!attached) this.#keys.reset();
    this.#source.setAttached(attached);
  }

  override onAttached(): void {
    this.#source.onAttached();
  }

  override onDetached(): void {
    this.#source.onDetached();
  }

  override async close(): Promise<void> {
    await super.close();
    await this.#source.close();
  }
}

/**
 * In-band DTMF on a session's caller audio: `onKey` gets each key heard as tones. Call it
 * before `session.start()`: the caller's input RoomIO sets then is wrapped as it is set, before
 * anything reads it, and what wraps it later (the recorder) wraps the detector's input. (An
 * input swapped in after start is never read in agents 1.9: the session hands AgentInput its
 * onAudioInputChanged unbound, so the swap does not reach the running activity.)
 */
export function listenForTones(session: voice.AgentSession, onKey: (digit: string) => void): void {
  const input = session.input;
  const accessor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(input), 'audio');
  const get = accessor?.get;
  const set = accessor?.set;
  if (!get || !set) throw new Error('the agents library has no audio input accessor to wrap');
  const keys = new InbandKeys(onKey);
  let tapped: TonesAudioInput | undefined;
  Object.defineProperty(input, 'audio', {
    configurable: true,
    enumerable: true,
    get: () => get.call(input) as voice.AudioInput | null,
    set: (source: voice.AudioInput | null) => {
      if (source && !tapped) {
        tapped = new TonesAudioInput(source, keys);
        tapped.start();
        set.call(input, tapped);
      } else set.call(input, source);
    },
  });
}
