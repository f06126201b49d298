/**
 * Loaded into a call host under test (node --import) to make one call fail the way a bug
 * would: key 9 throws from a timer of that call, key 8 leaves a rejected promise unhandled.
 * Nothing else of the host is touched; the host's own isolation must keep the other calls up.
 */
import { Room } from '@livekit/rtc-node';

const emit = Room.prototype.emit;
Room.prototype.emit = function (this: Room, event: string, ...args: unknown[]) {
  if (event === 'dtmfReceived' && args[1] === '9') {
    setTimeout(() => {
      throw new Error('injected fault: a bug in one call');
    }, 0);
  }
  if (event === 'dtmfReceived' && args[1] === '8') {
    void Promise.reject(new Error('injected fault: an unhandled rejection in one call'));
  }
  return (emit as (this: Room, e: string, ...a: unknown[]) => boolean).call(this, event, ...args);
} as typeof Room.prototype.emit;
