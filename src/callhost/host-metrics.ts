import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, Gauge, type PrometheusContentType, type Registry } from 'prom-client';
import { metricsRegistry } from '../kernel/metrics.js';

/** The supervisor asks each host for its metrics over IPC; the host answers with the same id. */
interface MetricsRequest {
  type: 'metrics-request';
  id: string;
}
/** One registry's metrics as `getMetricsAsJSON()` gives them (plain data, fit for IPC). */
type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
interface MetricsReply {
  type: 'metrics-reply';
  id: string;
  metrics: MetricsJson;
}

const REPLY_TIMEOUT_MS = 2_000;

export const hostCapacity = new Gauge({
  name: 'voice_gateway_host_capacity',
  help: 'Calls this call host takes at once (CALL_HOST_CAPACITY)',
  registers: [metricsRegistry],
});

function isRequest(message: unknown): message is MetricsRequest {
  return (message as MetricsRequest | null)?.type === 'metrics-request';
}

export function isMetricsReply(message: unknown): message is MetricsReply {
  return (message as MetricsReply | null)?.type === 'metrics-reply';
}

/** In a host: answers the supervisor's metrics requests. */
export function answerMetricsRequests(): void {
  process.on('message', (message) => {
    if (!isRequest(message)) return;
    void metricsRegistry.getMetricsAsJSON().then((metrics) => {
      const reply: MetricsReply = { type: 'metrics-reply', id: message.id, metrics };
      process.send?.(reply);
    });
  });
}

/**
 * In the supervisor: the metrics of every live host, summed into one registry (a host that does
 * not answer in time is left out rather than holding the scrape).
 */
export async function aggregateHostMetrics(
  hosts: ChildProcess[],
): Promise<Registry<PrometheusContentType>> {
  const replies = await Promise.all(hosts.map((child) => askForMetrics(child)));
  return AggregatorRegistry.aggregate<PrometheusContentType>(
    replies.filter((r): r is MetricsJson => r !== undefined),
  );
}

function askForMetrics(child: ChildProcess): Promise<MetricsJson | undefined> {
  const id = randomUUID();
  return new Promise((resolve) => {
    const done = (value: MetricsJson | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(value);
    };
    const onMessage = (message: unknown) => {
      if (isMetricsReply(message) && message.id === id) done(message.metrics);
    };
    const timer = setTimeout(() => done(undefined), REPLY_TIMEOUT_MS);
    child.on('message', onMessage);
    const request: MetricsRequest = { type: 'metrics-request', id };
    child.send(request, (error) => error && done(undefined));
  });
}
