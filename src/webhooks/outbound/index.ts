export { webhookEventTypes, type WebhookEventType } from './events.js';
export { publish } from './publish.js';
export { startDeliveryWorker, type DeliveryWorker } from './worker.js';
export { webhookEndpointsRouter } from './routes.js';
export { RefusedTarget, resolveTarget } from './targets.js';
export { send } from './send.js';
export { loadCallWebhookSecret } from './call-secret.js';
