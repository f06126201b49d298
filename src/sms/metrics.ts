import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';

/** Texts handled: inbound stored/duplicate/refused, outbound sent/retried/failed. */
export const smsMessages = new Counter({
  name: 'voice_gateway_sms_total',
  help: 'SMS by direction and outcome (inbound: stored, duplicate, refused; outbound: sent, retry, failed)',
  labelNames: ['direction', 'outcome'],
  registers: [metricsRegistry],
});

export const smsSendSeconds = new Histogram({
  name: 'voice_gateway_sms_send_seconds',
  help: 'From queueing an outbound SMS to the provider taking it (2xx)',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800],
  registers: [metricsRegistry],
});
