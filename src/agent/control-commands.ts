import { RoomEvent, type RemoteParticipant, type Room } from '@livekit/rtc-node';
import type { Logger } from '../kernel/logger.js';
import {
  CONTROL_TOPIC,
  controlMessageSchema,
  type ControlMessage,
} from '../livekit/control-protocol.js';

type Action = ControlMessage['action'];
type Handler = (message: ControlMessage) => Promise<void>;

/** Request ids remembered per call: the API resends a command until it is acknowledged. */
const REMEMBERED_REQUESTS = 64;

interface Dispatcher {
  handlers: Map<Action, Handler>;
  seen: string[];
  queue: Promise<void>;
}

const dispatchers = new WeakMap<Room, Dispatcher>();

/**
 * The API's commands to this call's agent (data packets on CONTROL_TOPIC sent by the server;
 * packets from participants are ignored). One listener per room hands each command to the
 * handler of its action, one command at a time in the order they came. LiveKit drops server
 * data for a participant that is not active yet, so the API resends until acknowledged: a
 * request id already carried out is not carried out again (keys are not pressed twice).
 */
export function onControlCommand<A extends Action>(
  room: Room,
  log: Logger,
  actions: readonly A[],
  handle: (message: Extract<ControlMessage, { action: A }>) => Promise<void>,
): void {
  let dispatcher = dispatchers.get(room);
  if (!dispatcher) {
    const created: Dispatcher = { handlers: new Map(), seen: [], queue: Promise.resolve() };
    dispatcher = created;
    dispatchers.set(room, created);
    room.on(
      RoomEvent.DataReceived,
      (payload: Uint8Array, participant?: RemoteParticipant, _kind?: unknown, topic?: string) => {
        if (topic !== CONTROL_TOPIC || participant) return;
        let message: ControlMessage;
        try {
          message = controlMessageSchema.parse(JSON.parse(Buffer.from(payload).toString('utf8')));
        } catch (error) {
          log.warn({ err: error }, 'malformed call control message ignored');
          return;
        }
        const handler = created.handlers.get(message.action);
        if (!handler || created.seen.includes(message.request_id)) return;
        created.seen.push(message.request_id);
        if (created.seen.length > REMEMBERED_REQUESTS) created.seen.shift();
        created.queue = created.queue.then(() => handler(message));
      },
    );
  }
  for (const action of actions) {
    dispatcher.handlers.set(action, handle as Handler);
  }
}
