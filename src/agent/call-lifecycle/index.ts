export { joinedCaller } from './caller.js';
export type { CallDeps } from './deps.js';
export { CallLifecycle, RESUME_LINE } from './lifecycle.js';
export type { CallLifecycleOptions } from './lifecycle.js';
export { IvrRunner, type IvrHooks } from './ivr.js';
export type { CallTalker } from './talker.js';
