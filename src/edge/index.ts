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
} from './kamailio-config.js';
export type { EdgeKamailioSettings } from './kamailio-config.js';
export { unlockUsers, listLockouts } from './protection.js';
