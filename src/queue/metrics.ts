import { Counter, Gauge, Histogram } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';

export const queueLength = new Gauge({
  name: 'voice_gateway_calls_queued',
  help: 'Inbound calls waiting in the queue for a place under the concurrency limits',
  registers: [metricsRegistry],
});

export const callsHoldingPlaces = new Gauge({
  name: 'voice_gateway_calls_admitted',
  help: 'Inbound calls holding a place under the concurrency limits',
  registers: [metricsRegistry],
});

export const queueAdmissions = new Counter({
  name: 'voice_gateway_queue_admissions_total',
  help: 'Inbound calls given a place: at once, or after waiting in the queue',
  labelNames: ['after'],
  registers: [metricsRegistry],
});

export const queueWait = new Histogram({
  name: 'voice_gateway_queue_wait_seconds',
  help: 'How long calls that waited in the queue waited before an agent took them',
  buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers: [metricsRegistry],
});

export const queueAbandoned = new Counter({
  name: 'voice_gateway_queue_left_total',
  help: 'Calls that left the queue without a place: the caller hung up or the longest wait ran out',
  labelNames: ['reason'],
  registers: [metricsRegistry],
});
