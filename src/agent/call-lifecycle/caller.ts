import type { RemoteParticipant } from '@livekit/rtc-node';
import type { CallContext } from '../../callhost/call-context.js';
import type { Logger } from '../../kernel/logger.js';

const CALLER_JOIN_TIMEOUT_MS = 60_000;

/** The caller once in the room; undefined (and the call ended) when nobody came in time. */
export async function joinedCaller(
  ctx: CallContext,
  log: Logger,
): Promise<RemoteParticipant | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ctx.waitForParticipant(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('no caller')), CALLER_JOIN_TIMEOUT_MS);
      }),
    ]);
  } catch {
    log.warn('no caller joined the room; the agent leaves');
    ctx.shutdown('no_caller');
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
