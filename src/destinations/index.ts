export { COSTLY_CLASSES, type CostlyClass, type RefusalRule } from './classes.js';
export { classifyNumber } from './classify.js';
export { COSTLY_PREFIXES } from './prefixes.js';
export {
  checkDestination,
  destinationPolicySchema,
  effectivePolicy,
  PREFIX_PATTERN,
  SIP_HOST_PATTERN,
  type Destination,
  type DestinationPolicy,
  type TrunkDestinationPolicy,
  type Verdict,
} from './policy.js';
export { bareHost, destinationOf } from './target.js';
