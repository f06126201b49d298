export { edgeRouter } from './routes.js';
export { explainRegisterResponse } from './register-responses.js';
export { startEdgeSupervisor, type EdgePollTask, type EdgeSupervisor } from './start.js';
export { deleteHtableKey, dumpHtable } from './edge-state.js';
export { EdgeRpc, EdgeRpcError } from './rpc.js';
export {
  edgeDefaults,
  renderEdgeConfig,
  writeEdgeConfig,
  contactPrefix,
  smsEdgeToken,
} from './kamailio-config.js';
export { parseResponse, type SipResponse } from './sip-register.js';
export {
  digestAuthorization,
  parseChallenge,
  pickChallenge,
  type DigestChallenge,
} from './digest.js';
export type { EdgeKamailioSettings } from './kamailio-config.js';
export { signedTransferUser } from './kamailio-config.js';
export { unlockUsers, listLockouts } from './protection.js';
