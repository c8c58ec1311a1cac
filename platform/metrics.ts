/**
 * The metrics module's entry point: metric names (CloudWatch and Prometheus use the same ones), the
 * process's registry and the CloudWatch EMF encoder. The Prometheus exporter is imported on its own
 * (platform/metrics/prometheus-exporter.ts) so Lambda bundles do not carry prom-client.
 */
export { METRIC, METRICS_NAMESPACE, METRIC_HELP, METRIC_UNITS, type MetricName, type MetricUnit } from './metrics/metric-names.js';
export { MetricsRegistry, processMetrics, type Dimensions, type MetricKind, type MetricSample } from './metrics/registry.js';
export { encodeEmf, type EmfEntry } from './metrics/emf-exporter.js';
