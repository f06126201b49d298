import type { Room } from '@livekit/rtc-node';

/** rtc-node's FFI event name on its process-wide client (`FfiClientEvent.FfiEvent`). */
const FFI_EVENT = 'ffi_event';

interface FfiEvent {
  message: { case?: string; value?: { roomHandle?: bigint } };
}

interface FfiEmitter {
  on(event: string, listener: (ev: FfiEvent) => void): unknown;
  off(event: string, listener: (ev: FfiEvent) => void): unknown;
  listeners(event: string): unknown[];
}

/** The parts of rtc-node's Room this reaches into; none is public API. */
interface RoomInternals {
  onFfiEvent?: (ev: FfiEvent) => Promise<void>;
  ffiHandle?: { handle: bigint };
}

/** rtc-node keeps its one FFI client on globalThis (so that copies of the package share it). */
const ffiClient = () => (globalThis as { _ffiClientInstance?: FfiEmitter })._ffiClientInstance;

/**
 * rtc-node hands every FFI event of the process to every connected Room, whose handler is async
 * and takes the room's lock before it looks at the event and drops it if it is not its own. On a
 * call host most events are the calls' audio frames, which no Room reads: with N calls, each of
 * the N streams' frames cost N lock round trips (and their promises), so the host's cost grew
 * with the square of its calls. After connect, this puts a filter in front of the room's handler
 * that passes only what the handler acts on: its own room events, and RPC invocations (which it
 * matches by participant itself). Call the returned function when the room is done with. If
 * rtc-node no longer looks as this expects, the room is left as it was and undefined returned.
 */
export function routeRoomEvents(room: Room): (() => void) | undefined {
  const ffi = ffiClient();
  const internals = room as unknown as RoomInternals;
  const handler = internals.onFfiEvent;
  const ownHandle = internals.ffiHandle?.handle;
  if (!ffi || typeof handler !== 'function' || ownHandle === undefined) return undefined;
  // rtc-node compares the two loosely; as bigints, strictly.
  const roomHandle = BigInt(ownHandle);
  if (!ffi.listeners(FFI_EVENT).includes(handler)) return undefined;
  const filtered = (ev: FfiEvent) => {
    const { message } = ev;
    const mine =
      message.case === 'roomEvent'
        ? message.value?.roomHandle !== undefined && BigInt(message.value.roomHandle) === roomHandle
        : message.case === 'rpcMethodInvocation';
    if (mine) void handler(ev);
  };
  ffi.off(FFI_EVENT, handler);
  ffi.on(FFI_EVENT, filtered);
  return () => ffi.off(FFI_EVENT, filtered);
}
