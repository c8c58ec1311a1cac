import { METRIC, METRICS_NAMESPACE } from '../../platform/metrics.js';
import type { LoadSummary } from '../run-loader.js';

/**
 * CloudWatch embedded metric format: one JSON line on stdout per run; CloudWatch Logs turns the
 * listed members into metrics in the project's namespace (no PutMetricData calls, no extra latency).
 */
export function loaderEmfLine(summary: LoadSummary, now = Date.now()): string {
  const values: Record<string, number> = {
    [METRIC.rowsLoaded]: summary.rowsLoaded,
    [METRIC.manifestsLoaded]: summary.manifestsLoaded,
    [METRIC.loaderFailures]: summary.manifestsFailed,
  };
  const units: Record<string, string> = { [METRIC.rowsLoaded]: 'Count', [METRIC.manifestsLoaded]: 'Count', [METRIC.loaderFailures]: 'Count' };
  if (summary.freshnessMs !== null) {
    values[METRIC.warehouseFreshnessMs] = Math.round(summary.freshnessMs);
    units[METRIC.warehouseFreshnessMs] = 'Milliseconds';
  }
  if (summary.watermarkAgeMs !== null) {
    values[METRIC.warehouseWatermarkAgeMs] = Math.round(summary.watermarkAgeMs);
    units[METRIC.warehouseWatermarkAgeMs] = 'Milliseconds';
  }
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: Object.entries(units).map(([Name, Unit]) => ({ Name, Unit })) }],
    },
    service: 'loader',
    schema: summary.schema,
    status: summary.status,
    ...values,
  });
}
