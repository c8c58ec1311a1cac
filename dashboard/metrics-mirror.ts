import { METRIC, type MetricName, type MetricsRegistry } from '../platform/metrics.js';
import type { PipelineCounters } from '../runtime/pipeline-counters.js';
import type { PipelineStatus } from '../runtime/pipeline-status.js';
import { watermarkAgeOf } from './dashboard-model.js';

/**
 * Copies what `up` knows into the process's metrics registry under the CloudWatch names, so
 * `/metrics` serves the same numbers as the page. Counters grow by what changed since the previous
 * call; a total that went down (the capture child restarted and counts from 0 again) counts from 0.
 */
export function metricsMirror(registry: MetricsRegistry): (counters: PipelineCounters, status: PipelineStatus | null) => void {
  const last = new Map<string, number>();
  const add = (name: MetricName, total: number, dimensions: Record<string, string> = {}) => {
    const key = name + JSON.stringify(dimensions);
    const before = last.get(key) ?? 0;
    registry.count(name, total >= before ? total - before : total, dimensions);
    last.set(key, total);
  };
  return (counters, status) => {
    add(METRIC.sourceChanges, counters.simulator.changes);
    add(METRIC.eventsProcessed, counters.processor.events);
    add(METRIC.eventsQuarantined, counters.processor.quarantined);
    add(METRIC.eventsArchived, counters.archiver.records);
    add(METRIC.manifestsLoaded, counters.loader.manifests);
    add(METRIC.rowsLoaded, counters.loader.rows);
    add(METRIC.loaderFailures, counters.loader.failures);
    if (counters.processor.lastBatchMs !== null) registry.gauge(METRIC.batchDurationMs, counters.processor.lastBatchMs);
    if (!status) return;

    const capture = status.capture;
    if (capture && !capture.stale) {
      add(METRIC.eventsPublished, capture.eventsPublished, { slotName: capture.slotName });
      if (capture.sinkLatencyMs !== null) registry.gauge(METRIC.sinkLatencyMs, Math.round(capture.sinkLatencyMs), { slotName: capture.slotName });
      if (capture.lastConfirmedAt) registry.gauge(METRIC.confirmedLsnLagMs, Math.max(0, Date.parse(status.at) - Date.parse(capture.lastConfirmedAt)), { slotName: capture.slotName });
    }
    const slot = status.slot;
    if (!('error' in slot) && slot.exists) {
      registry.gauge(METRIC.slotLagBytes, slot.lagBytes ?? 0, { slotName: slot.slotName });
      registry.clearGauge(METRIC.slotWalStatus);
      if (slot.walStatus) registry.gauge(METRIC.slotWalStatus, 1, { slotName: slot.slotName, walStatus: slot.walStatus });
    }
    if (Array.isArray(status.stream)) {
      for (const lag of status.stream) {
        registry.gauge(METRIC.consumerLagRecords, lag.records, { consumer: lag.consumer });
        registry.gauge(METRIC.consumerLagAgeMs, lag.maxAgeMs, { consumer: lag.consumer });
      }
    }
    const warehouse = status.warehouse;
    if (!('error' in warehouse) && warehouse.initialised) {
      if (warehouse.freshnessMs !== null) registry.gauge(METRIC.warehouseFreshnessMs, warehouse.freshnessMs);
      const watermarkAgeMs = watermarkAgeOf(warehouse);
      if (watermarkAgeMs !== null) registry.gauge(METRIC.warehouseWatermarkAgeMs, watermarkAgeMs);
      for (const [table, rows] of Object.entries(warehouse.rowsByTable)) registry.gauge(METRIC.warehouseRows, rows, { table });
    }
  };
}
