import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../../kernel/metrics.js';

export const deliveryLag = new Histogram({
  name: 'voice_gateway_webhook_delivery_lag_seconds',
  help: 'From an event being stored to its webhook being accepted by the receiver (retries included)',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200],
  registers: [metricsRegistry],
});

export const deliveryAttempts = new Counter({
  name: 'voice_gateway_webhook_attempts_total',
  help: 'Webhook delivery attempts by result (ok, http_error, no_answer)',
  labelNames: ['result'],
  registers: [metricsRegistry],
});
