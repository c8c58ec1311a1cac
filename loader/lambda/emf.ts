import { encodeEmf, METRIC, type MetricName } from '../../platform/metrics.js';
import type { LoadSummary } from '../run-loader.js';

/**
 * CloudWatch embedded metric format: one JSON line on stdout per run; CloudWatch Logs turns the
 * listed members into metrics in the project's namespace (no PutMetricData calls, no extra latency).
 */
export function loaderEmfLine(summary: LoadSummary, now = Date.now()): string {
  const metrics: Partial<Record<MetricName, number>> = {
    [METRIC.rowsLoaded]: summary.rowsLoaded,
    [METRIC.manifestsLoaded]: summary.manifestsLoaded,
    [METRIC.loaderFailures]: summary.manifestsFailed,
  };
  if (summary.freshnessMs !== null) metrics[METRIC.warehouseFreshnessMs] = Math.round(summary.freshnessMs);
  if (summary.watermarkAgeMs !== null) metrics[METRIC.warehouseWatermarkAgeMs] = Math.round(summary.watermarkAgeMs);
  return encodeEmf({ dimensions: { service: 'loader' }, metrics, properties: { schema: summary.schema, status: summary.status }, timestampMs: now });
}
