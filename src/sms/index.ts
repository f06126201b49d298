export { smsRouter, type SmsRouteDeps } from './routes.js';
export { startSmsListener, type SmsListener } from './listener.js';
export { startSmsWorker, type SmsWorker } from './worker.js';
export { countSegments, splitSegments, type SegmentCount } from './segments.js';
