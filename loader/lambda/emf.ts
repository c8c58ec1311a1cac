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

/**
 * The watermark age alone, written while a draining run is still loading (schedule-handler.ts):
 * the end-of-run line of a 58 s drain lands within a second or two of the minute's end, and now and
 * then in the next minute, which would leave a 1-minute period of the WarehouseStale alarm (missing
 * data = breaching) empty on a healthy pipeline.
 */
export function watermarkEmfLine(schema: string, watermarkAgeMs: number, now = Date.now()): string {
  return encodeEmf({ dimensions: { service: 'loader' }, metrics: { [METRIC.warehouseWatermarkAgeMs]: Math.round(watermarkAgeMs) }, properties: { schema, status: 'draining' }, timestampMs: now });
}
