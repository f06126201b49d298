export { trunksDeps, type TrunksDeps, type TrunksFoundation } from './deps.js';
export {
  reconcile,
  startReconcileLoop,
  type ReconcileMode,
  type ReconcileReport,
} from './reconcile.js';
export { trunksRouter } from './routes.js';
export { providerIds, getProviderPreset, type ProviderId } from './provider-presets.js';
export { toE164 } from './phone.js';
export { sipTransferUriProblem } from '../contract/index.js';
