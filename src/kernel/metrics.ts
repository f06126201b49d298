import { Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process; areas register their metrics on it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'voice_gateway_' });
