export { edgeRouter } from './routes.js';
export { explainRegisterResponse } from './register-responses.js';
export { startEdgeSupervisor, type EdgeSupervisor } from './start.js';
export { EdgeRpc, EdgeRpcError } from './rpc.js';
export {
  edgeDefaults,
  renderEdgeConfig,
  writeEdgeConfig,
  contactPrefix,
} from './kamailio-config.js';
export type { EdgeKamailioSettings } from './kamailio-config.js';
