import { Counter } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';

export const callsForwarded = new Counter({
  name: 'voice_gateway_calls_forwarded_total',
  help: 'Inbound calls the gateway forwarded without an agent, by reason (always, outside_hours, no_capacity) and outcome (forwarded, failed)',
  labelNames: ['reason', 'outcome'],
  registers: [metricsRegistry],
});
