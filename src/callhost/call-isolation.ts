import { AsyncLocalStorage } from 'node:async_hooks';
import type { Room } from '@livekit/rtc-node';

/** The call a piece of code runs for: set around everything a call starts. */
export interface IsolatedCall {
  readonly jobId: string;
  /** Ends this call alone after an error nobody caught. */
  fail(error: unknown): void;
}

const storage = new AsyncLocalStorage<IsolatedCall>();

/** Runs `fn` as part of `call`: timers, promises and listeners it creates carry the call. */
export function runInCall<T>(call: IsolatedCall, fn: () => T): T {
  return storage.run(call, fn);
}

/** The call the current code runs for, if any. */
export function currentCall(): IsolatedCall | undefined {
  return storage.getStore();
}

/**
 * rtc-node emits a room's events from its FFI callbacks, outside any call's context: a listener
 * that throws would surface as the host's uncaught exception. Each call has a Room of its own,
 * so its emit runs its listeners inside the call, and a throw ends that call only.
 */
export function isolateRoomEvents(room: Room, call: IsolatedCall): void {
  const emit = room.emit.bind(room) as (event: string, ...args: unknown[]) => boolean;
  (room as unknown as { emit: typeof emit }).emit = (event, ...args) =>
    storage.run(call, () => {
      try {
        return emit(event, ...args);
      } catch (error) {
        call.fail(error);
        return true;
      }
    });
}

/**
 * Routes errors nobody caught to the call they came from (Node keeps the async context of
 * timers and promise rejections). An uncaught exception outside every call leaves the process
 * in an unknown state: `fatal` is called (the host exits; its calls resume on other hosts).
 */
export function routeUncaughtErrors(handlers: {
  fatal(error: unknown): void;
  stray(error: unknown): void;
}): void {
  process.on('uncaughtException', (error) => {
    const call = currentCall();
    if (call) call.fail(error);
    else handlers.fatal(error);
  });
  process.on('unhandledRejection', (reason) => {
    const call = currentCall();
    if (call) call.fail(reason);
    else handlers.stray(reason);
  });
}
