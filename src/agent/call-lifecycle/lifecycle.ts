import { RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { CallContext } from '../../callhost/call-context.js';
import type { Logger } from '../../kernel/logger.js';
import type { TranscriptLine } from '../../contract/index.js';
import { callRunning, observeTurns } from '../call-metrics.js';
import { askForPlace, takePlace, type EarlyAdmission } from '../call-queue.js';
import type { CallRecording } from '../call-recording.js';
import type { EspeakTTS } from '../espeak-tts.js';
import { sendDigits } from '../send-dtmf.js';
import { callReporter, type CallReport } from '../gateway-api.js';
import type { IvrWebhookAnswer, IvrWebhookRequest } from '../../contract/index.js';
import { attachCallHold, type CallHold, type HoldTarget } from '../hold.js';
import {
  startMachineDetection,
  waitForBeep,
  type MachineDetection,
} from '../machine-detection/screen.js';
import type { AnsweredBy } from '../machine-detection/detector.js';
import type { JobMetadata } from '../job-metadata.js';
import type { ProfileSettings } from '../profile.js';
import { CallControl, waitUntilAnswered } from '../telephony.js';
import type { CallDeps } from './deps.js';
import { KeyFilter, type KeySource } from './keys.js';
import type { CallTalker } from './talker.js';
import { CallTranscript } from './transcript.js';

const ANSWER_TIMEOUT_MS = 120_000;

/** What an agent taking over a call from a lost one says first. */
export { RESUME_LINE } from '../offline/prompt-cache.js';
const TIME_LIMIT_LINE = 'We have reached the time limit for this call. Goodbye.';
/** A call the API forwards is hung up if the forward has not ended it by then. */
const FORWARD_WAIT_MS = 60_000;

export interface CallLifecycleOptions {
  caller: RemoteParticipant;
  profileId: string | null;
  /** The settings the call runs with (the offline profile's when its own could not be used). */
  settings: ProfileSettings;
  meta: JobMetadata;
  log: Logger;
  talker: CallTalker;
  /** The call so far, when this agent takes over from a lost one. */
  earlier?: TranscriptLine[];
  /** Sends the transcript while the call runs, for an agent that may have to take over. */
  liveTranscript?: boolean;
}

/**
 * What every call does around its talker, whatever the mode: the transcript and the reports to
 * the API, the queue, hold, the recording's answer and end, transfers, the time limit, the
 * apology when the agent fails, and the one way a call finishes (final report, hangup, the host
 * leaves). Each mode builds its talker, makes one of these, and calls its steps in its order.
 */
export class CallLifecycle {
  readonly control: CallControl;
  readonly transcript: CallTranscript;
  /** Sends a report of this call; a failed report is logged, never thrown into the call. */
  readonly report: (extra: Partial<CallReport>) => Promise<void>;
  readonly caller: RemoteParticipant;
  readonly room: Room;
  readonly roomName: string;
  readonly #options: CallLifecycleOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #ended = false;
  /** The warm transfer human the caller is connected to, if any. */
  #connectedTo: string | undefined;
  #recording: CallRecording | undefined;
  #hold: CallHold | undefined;
  #earlyAdmission: EarlyAdmission | undefined;
  #machineDetection: MachineDetection | undefined;
  readonly #stopCounting: () => void;
  #keyHandler: ((digit: string) => void) | undefined;
  #keys: KeyFilter | undefined;

  constructor(
    private readonly ctx: CallContext,
    private readonly deps: CallDeps,
    options: CallLifecycleOptions,
  ) {
    this.#options = options;
    this.caller = options.caller;
    this.room = ctx.room;
    this.roomName = ctx.room.name!;
    this.control = new CallControl(deps.livekit, deps.api);
    this.report = callReporter(
      deps.api,
      {
        roomName: this.roomName,
        callerIdentity: this.caller.identity,
        profileId: options.profileId,
      },
      (error) => options.log.error({ err: error }, 'call report failed'),
    );
    this.transcript = new CallTranscript(
      options.earlier ?? [],
      options.liveTranscript
        ? (lines) => void this.report({ transcript: lines, partial: true })
        : undefined,
    );
    // The room can go away under the call (hung up through the API): its timers stop with it.
    ctx.addShutdownCallback(() => this.finish(undefined));
    // An error nobody caught in this call ends this call alone.
    ctx.onFailure = () => this.apologizeAndHangUp('agent_error');
    this.room.on(RoomEvent.ParticipantDisconnected, (p) => {
      if (p.identity !== this.caller.identity) return;
      // Connected to a warm transfer's human: the room goes, and the human's leg with it.
      if (this.#connectedTo) void this.control.hangup(this.roomName).catch(() => undefined);
      void this.finish(undefined);
    });
    this.#stopCounting = callRunning({
      mode: options.settings.mode,
      profile: options.profileId ?? 'default',
      direction: options.meta.direction ?? 'inbound',
    });
  }

  /** True once the call finished (or the caller left). */
  get ended(): boolean {
    return this.#ended;
  }

  /** True while the API holds the call: key presses and silence checks wait. */
  get held(): boolean {
    return this.#hold?.held ?? false;
  }

  /** Runs `fn` after `ms` unless the call ended first. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => (this.#timers.delete(t), fn()), ms);
    this.#timers.add(t);
    return t;
  }

  /** Cancels what later() set. */
  cancel(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** The call's recording: told of the answer and of the end. */
  record(recording: CallRecording): void {
    this.#recording = recording;
  }

  /**
   * Ends the call once: the talker closes, the final report goes (with `reason` when the agent
   * ended the call, which then hangs up for everyone), and the host leaves the room.
   */
  async finish(reason: string | undefined): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#recording?.ended();
    const { talker } = this.#options;
    await talker.close?.();
    const latency = talker.latency?.();
    this.#stopCounting();
    if (latency) observeTurns(this.#options.settings.mode, latency);
    await this.report({
      transcript: this.transcript.lines,
      ...(latency && { latency }),
      ...(reason && { ended: { at: new Date().toISOString(), reason } }),
    });
    if (reason) await this.control.hangup(this.roomName).catch(() => undefined);
    this.ctx.shutdown(reason ?? 'caller_left');
  }

  /** The agent failed: the caller hears the profile's apology, then the call hangs up. */
  async apologizeAndHangUp(reason: string): Promise<void> {
    if (this.#ended) return;
    const { log, settings, talker } = this.#options;
    log.error({ reason }, 'agent failed mid-call; apologising and hanging up');
    try {
      await talker.apologize(settings.apology);
      this.transcript.said(settings.apology);
    } catch (error) {
      log.error({ err: error }, 'apology could not be spoken');
    }
    await this.finish(reason);
  }

  /** Resolves when LiveKit SIP reports the call answered; false when it was not in time. */
  waitForAnswer(): Promise<boolean> {
    return waitUntilAnswered(this.room, this.caller, ANSWER_TIMEOUT_MS);
  }

  /**
   * Waits for the answer and reports it (an agent taking over a call does not report it again);
   * the recording keeps the call from here on.
   */
  async answered(): Promise<boolean> {
    this.#askForPlaceEarly();
    const { settings, meta, log, talker } = this.#options;
    if (meta.direction === 'outbound' && settings.machine_detection.enabled && !meta.recovery) {
      // The agent does not answer what it hears until it knows who is there.
      talker.pauseListening?.(true);
      this.#machineDetection = startMachineDetection(this.room, this.caller, log);
    }
    if (!(await this.waitForAnswer())) {
      await this.#machineDetection?.stop();
      return false;
    }
    if (!this.#options.meta.recovery) void this.report({ answered_at: new Date().toISOString() });
    this.#recording?.answered(this.report);
    return true;
  }

  /**
   * Outbound calls whose profile detects answering machines (heard from before the answer, in
   * answered()): reports who answered. A person (or unknown) goes on with the call (true); a machine gets the
   * profile's message after its beep, or is hung up on, and the call ends (false). `say` is the
   * mode's own (it keeps the transcript); `decided` hears the verdict before anything follows
   * (bridge mode tells the platform).
   */
  async screenForMachine(
    say: (text: string) => Promise<void>,
    decided?: (answeredBy: AnsweredBy) => void,
  ): Promise<boolean> {
    const { settings, talker, log } = this.#options;
    const amd = settings.machine_detection;
    const detection = this.#machineDetection;
    if (!detection) return true;
    const answeredBy = await detection.verdict();
    log.info({ answeredBy }, 'answering machine detection');
    void this.report({ answered_by: answeredBy });
    decided?.(answeredBy);
    if (this.#ended) return false;
    if (answeredBy !== 'machine') {
      talker.pauseListening?.(false);
      return true;
    }
    if (amd.on_machine === 'hang_up' || !amd.message) {
      await this.finish('machine_detected');
      return false;
    }
    const end = await waitForBeep(this.room, this.caller, log);
    log.info({ end }, 'machine greeting ended');
    if (this.#ended) return false;
    await say(amd.message);
    await this.finish('machine_message');
    return false;
  }

  /**
   * An inbound call's place under the concurrency limits (music and its place in the queue
   * while it waits, kept with beats once it has one); outbound calls have theirs already.
   * False when the call is over (the wait ran out, or the caller left).
   */
  async takePlace(voice: EspeakTTS): Promise<boolean> {
    if (this.#options.meta.direction === 'outbound') return true;
    const { talker, settings, profileId, log } = this.#options;
    const beat = await takePlace({
      ...(this.#earlyAdmission && { early: this.#earlyAdmission }),
      api: this.deps.api,
      caller: this.caller,
      profileId,
      room: this.room,
      ...(talker.pauseListening && { pauseListening: (p: boolean) => talker.pauseListening!(p) }),
      settings: settings.queue,
      voice,
      musicFile: this.deps.holdMusicFile,
      log,
      spoke: (text) => this.transcript.said(text),
      transfer: (to) => this.control.transfer(this.roomName, this.caller.identity, to),
      finish: (reason) => this.finish(reason),
      awaitForward: () => this.later(FORWARD_WAIT_MS, () => void this.finish('forward_timeout')),
      callerGone: () => this.#ended,
    });
    if (!beat) return false;
    this.#timers.add(beat);
    return true;
  }

  /** Hold and resume on the API's command from now on; `onHold` runs as a hold starts. */
  attachHold(target: HoldTarget, onHold?: () => void): void {
    this.#hold = attachCallHold({
      room: this.room,
      target,
      musicFile: this.deps.holdMusicFile,
      log: this.#options.log,
      language: this.#options.settings.language,
      ...(onHold && { onHold }),
      onConnected: (human) => this.#connected(human),
    });
  }

  /**
   * A warm transfer's human took the call and the agent went silent: when either of the two
   * hangs up, the call ends for the other too (the room goes), instead of leaving the caller
   * with a silent agent or the human in a room of their own.
   */
  #connected(human: string): void {
    this.#connectedTo = human;
    this.room.on(RoomEvent.ParticipantDisconnected, (p) => {
      if (p.identity === human) void this.finish('human_hangup');
    });
  }

  /** An inbound call asks for its place while it rings: the answer is there when it is answered. */
  #askForPlaceEarly(): void {
    const { meta, profileId, log } = this.#options;
    if (meta.direction === 'outbound' || meta.recovery || this.#earlyAdmission) return;
    this.#earlyAdmission = askForPlace({
      api: this.deps.api,
      room: this.room,
      caller: this.caller,
      profileId,
      log,
    });
  }

  /** The profile's longest call: the agent says so, then hangs up. */
  limitDuration(say: (text: string) => Promise<unknown>): void {
    this.later(this.#options.settings.max_call_duration_seconds * 1000, () => {
      void say(TIME_LIMIT_LINE).finally(() => void this.finish('max_duration'));
    });
  }

  /** Keys to the far end of the call (RFC 2833 through LiveKit SIP). */
  sendDigits(digits: string): Promise<void> {
    return sendDigits(this.room, digits);
  }

  /** A menu's webhook for this call (the API makes the request). */
  ivrWebhook(
    request: Omit<IvrWebhookRequest, 'room_name' | 'participant_identity'>,
  ): Promise<IvrWebhookAnswer> {
    return this.deps.api.ivrWebhook({
      ...request,
      room_name: this.roomName,
      participant_identity: this.caller.identity,
    });
  }

  /**
   * A transfer the agent asked for; false if it did not start. Cold: the call ends once it went
   * through. Warm: the API holds the caller and asks the human; this agent stays in the call.
   * `failed` gets the error of one that did not start (bridge mode tells the platform why).
   */
  async transfer(
    to: string,
    mode: 'cold' | 'warm' = 'cold',
    failed?: (error: unknown) => void,
    summary?: string,
  ): Promise<boolean> {
    try {
      // The human's summary is made from the call's transcript: the API has it up to now first.
      if (mode === 'warm') await this.report({ transcript: this.transcript.lines, partial: true });
      await this.control.transfer(this.roomName, this.caller.identity, to, mode, summary);
      if (mode === 'cold') await this.finish('transferred');
      return true;
    } catch (error) {
      this.#options.log.warn({ err: error }, 'transfer failed');
      failed?.(error);
      return false;
    }
  }

  /**
   * The caller's key presses while the call runs and is not held; each goes in the transcript.
   * RFC 2833 events come from the room; tones in the audio from the talker (inbandKey), as the
   * profile's dtmf_mode says, a key heard both ways once.
   */
  onKey(handle: (digit: string) => void): void {
    this.#keyHandler = handle;
    this.#keys = new KeyFilter(this.#options.settings.dtmf_mode);
    this.room.on(RoomEvent.DtmfReceived, (_code, digit, participant) => {
      if (participant.identity !== this.caller.identity) return;
      this.#key(digit, 'rfc2833');
    });
  }

  /** A key's tones heard in the caller's audio (in-band DTMF). */
  inbandKey(digit: string): void {
    this.#key(digit, 'inband');
  }

  #key(digit: string, source: KeySource): void {
    if (this.#ended || this.held || !this.#keyHandler) return;
    if (!this.#keys?.accept(digit, source)) return;
    this.#options.log.info({ source }, 'key pressed');
    this.transcript.heard(`[DTMF ${digit}]`);
    this.#keyHandler(digit);
  }
}
