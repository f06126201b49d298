export { webhookEventTypes, type WebhookEventType } from './events.js';
export { publish } from './publish.js';
export { startDeliveryWorker, type DeliveryWorker } from './worker.js';
export { webhookEndpointsRouter } from './routes.js';
