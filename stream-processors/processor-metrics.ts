import type { Logger } from '../platform/logger.js';
import { encodeEmf, type MetricName } from '../platform/metrics.js';

/** The slice of a metrics backend the processor needs: counters. */
export interface MetricsSink {
  count(name: MetricName, value: number): void;
}

/** Local default: counters as structured debug logs (the runtime may pass its status-file sink). */
export function loggingMetrics(logger: Logger): MetricsSink {
  return { count: (name, value) => logger.debug('metric', { metric: name, value }) };
}

/**
 * CloudWatch embedded metric format (one JSON line on stdout per metric): Lambda's log pipeline turns
 * it into a metric in the project's namespace, no API call on the hot path.
 */
export function embeddedMetricFormat(service: string, write: (line: string) => void = (line) => process.stdout.write(line + '\n')): MetricsSink {
  return {
    count(name, value) {
      write(encodeEmf({ dimensions: { service }, metrics: { [name]: value } }));
    },
  };
}
