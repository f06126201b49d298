export { CallForwarder, forwardsNow, callForwarding, type ForwardReason } from './forwarder.js';
export { isOpenAt } from './schedule.js';
export { forwardingSchema, type Forwarding } from './schema.js';
