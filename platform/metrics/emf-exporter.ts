import { METRIC_UNITS, METRICS_NAMESPACE, type MetricName } from './metric-names.js';
import type { Dimensions } from './registry.js';

/** One CloudWatch embedded-metric-format line: values that share the same dimension values. */
export interface EmfEntry {
  /** Dimension name → value, e.g. `{ service: 'loader' }` or `{ SlotName: 'totesys_cdc' }`. */
  dimensions: Dimensions;
  /** Metric values in the order they are declared. Units come from METRIC_UNITS. */
  metrics: Partial<Record<MetricName, number>>;
  /** Extra members CloudWatch Logs keeps as searchable log fields (not metrics). */
  properties?: Record<string, unknown>;
  timestampMs?: number;
}

/**
 * The one EMF encoder. CloudWatch Logs reads `_aws.CloudWatchMetrics` (namespace, the dimension
 * set, each metric's name and unit) and takes each value from the member of the same name, so the
 * line is `_aws`, then the dimension values, the metric values and the properties. No
 * PutMetricData call on the hot path: the log pipeline does the publishing.
 */
export function encodeEmf(entry: EmfEntry): string {
  const names = Object.keys(entry.metrics) as MetricName[];
  return JSON.stringify({
    _aws: {
      Timestamp: entry.timestampMs ?? Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(entry.dimensions)],
          Metrics: names.map((name) => ({ Name: name, Unit: METRIC_UNITS[name] })),
        },
      ],
    },
    ...entry.dimensions,
    ...entry.metrics,
    ...entry.properties,
  });
}

