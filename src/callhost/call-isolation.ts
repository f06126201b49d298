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
 * What rtc-node's native FfiHandle throws when it is dropped (disposed, or collected by the GC)
 * after the FFI already freed its handle: a room whose connect failed under load leaves such
 * handles behind. The resource is gone either way, so nothing is left in an unknown state.
 */
export function isFreedHandleDrop(error: unknown): boolean {
  return error instanceof Error && error.message === 'trying to drop an invalid handle';
}

/**
 * Routes errors nobody caught to the call they came from (Node keeps the async context of
 * timers and promise rejections). An uncaught exception outside every call leaves the process
 * in an unknown state: `fatal` is called (the host exits; its calls resume on other hosts).
 * The one exception is a freed FFI handle dropped at garbage collection, which no call owns
 * and which leaves nothing broken: `stray` is called and the host goes on.
 */
export function routeUncaughtErrors(handlers: {
  fatal(error: unknown): void;
  stray(error: unknown): void;
}): void {
  process.on('uncaughtException', (error) => {
    const call = currentCall();
    if (call) call.fail(error);
    else if (isFreedHandleDrop(error)) handlers.stray(error);
    else handlers.fatal(error);
  });
  process.on('unhandledRejection', (reason) => {
    const call = currentCall();
    if (call) call.fail(reason);
    else handlers.stray(reason);
  });
}

/**
 * After a connect that failed once the FFI had made the room (under load it may already have
 * freed it: "handle not found"), drops the room's and its participants' native handles here,
 * where a freed one's throw is caught, instead of at garbage collection. Any other error in
 * dropping them goes to `onError`: the room is abandoned either way.
 */
export function dropFailedRoomHandles(room: Room, onError: (error: unknown) => void): void {
  const native = room as unknown as { ffiHandle?: { dispose(): void } };
  const handles = [
    native.ffiHandle,
    room.localParticipant?.ffi_handle,
    ...[...room.remoteParticipants.values()].map((p) => p.ffi_handle),
  ];
  for (const handle of handles) {
    try {
      handle?.dispose();
    } catch (error) {
      if (!isFreedHandleDrop(error)) onError(error);
    }
  }
}
