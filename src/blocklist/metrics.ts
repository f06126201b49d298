import { Counter } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';

export const blockedCalls = new Counter({
  name: 'voice_gateway_blocked_calls_total',
  help: 'Calls the SIP edge refused because the caller is on the blocklist, by what matched (number or prefix)',
  labelNames: ['kind'],
  registers: [metricsRegistry],
});
