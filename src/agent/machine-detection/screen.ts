import type { RemoteParticipant, Room } from '@livekit/rtc-node';
import type { Logger } from '../../kernel/logger.js';
import { CallerListener } from '../offline/caller-listener.js';
import {
  BeepWaiter,
  defaultMachineDetectionTimings,
  MachineDetector,
  type AnsweredBy,
  type GreetingEnd,
} from './detector.js';

// Audio that does not arrive (a callee's track not yet subscribed) ends each wait anyway.
const MARGIN_MS = 2000;
const BEEP_WAIT_MS = 20_000;

/** Feeds the callee's audio to `push` until it answers something or `ms` pass. */
async function listenUntil<T>(
  room: Room,
  callee: RemoteParticipant,
  log: Logger,
  ms: number,
  push: (samples: Int16Array) => T | undefined,
): Promise<T | undefined> {
  let done: (value: T | undefined) => void = () => undefined;
  const result = new Promise<T | undefined>((resolve) => (done = resolve));
  const listener = new CallerListener(
    room,
    callee,
    (samples) => {
      const value = push(samples);
      if (value !== undefined) done(value);
    },
    log,
  );
  const timer = setTimeout(() => done(undefined), ms);
  try {
    return await result;
  } finally {
    clearTimeout(timer);
    await listener.stop();
  }
}

export interface MachineDetection {
  /** Who answered; `unknown` when no verdict came `totalMs` (and a margin) after asking. */
  verdict(): Promise<AnsweredBy>;
  stop(): Promise<void>;
}

/**
 * Starts listening for who answers, before the answer: a person's "Hello?" comes at once, often
 * before the call's answer has reached the agent, and must not be missed.
 */
export function startMachineDetection(
  room: Room,
  callee: RemoteParticipant,
  log: Logger,
): MachineDetection {
  const detector = new MachineDetector();
  let decided: (value: AnsweredBy) => void = () => undefined;
  const verdict = new Promise<AnsweredBy>((resolve) => (decided = resolve));
  const listener = new CallerListener(
    room,
    callee,
    (samples) => {
      const value = detector.push(samples);
      if (value) decided(value);
    },
    log,
  );
  return {
    async verdict() {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<AnsweredBy>((resolve) => {
        timer = setTimeout(
          () => resolve('unknown'),
          defaultMachineDetectionTimings.totalMs + MARGIN_MS,
        );
      });
      try {
        return await Promise.race([verdict, late]);
      } finally {
        clearTimeout(timer);
        await listener.stop();
      }
    },
    stop: () => listener.stop(),
  };
}

/** After a machine's greeting: its beep, or the silence of one that has none. */
export function waitForBeep(
  room: Room,
  callee: RemoteParticipant,
  log: Logger,
): Promise<GreetingEnd> {
  const waiter = new BeepWaiter();
  return listenUntil(room, callee, log, BEEP_WAIT_MS + MARGIN_MS, (samples) =>
    waiter.push(samples),
  ).then((end) => end ?? 'timeout');
}
