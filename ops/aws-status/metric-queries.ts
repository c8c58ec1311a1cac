import { METRIC, METRICS_NAMESPACE } from '../../platform/metrics.js';

/**
 * The CloudWatch metrics `status --aws` reads, and what it makes of them (pure). Names and
 * dimensions are the ones the components publish (platform/metrics.ts; capture: SlotName,
 * processor and loader: service) and AWS publishes (Kinesis per stream, Lambda per function).
 */
export interface MetricQuery {
  /** GetMetricData query id: lower-case letter first. */
  id: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat: 'Maximum' | 'Sum' | 'SampleCount' | 'Average';
  periodS: number;
}

/** One metric's datapoints, newest first. */
export interface MetricSeries {
  id: string;
  timestamps: Date[];
  values: number[];
}

export interface MetricNames {
  slotName: string;
  streamName: string;
  /** The processor Lambda's function name, for its IteratorAge (optional). */
  processorFunctionName?: string;
  processorService?: string;
  loaderService?: string;
}

const PERIOD_S = 60;

export function statusMetricQueries(names: MetricNames): MetricQuery[] {
  const custom = (id: string, metricName: string, dimensions: Record<string, string>, stat: MetricQuery['stat']): MetricQuery => ({ id, namespace: METRICS_NAMESPACE, metricName, dimensions, stat, periodS: PERIOD_S });
  const slot = { SlotName: names.slotName };
  const processor = { service: names.processorService ?? 'stream-processor' };
  const loader = { service: names.loaderService ?? 'loader' };
  return [
    custom('heartbeat', METRIC.captureHeartbeat, slot, 'SampleCount'),
    custom('eventsPublished', METRIC.eventsPublished, slot, 'Sum'),
    custom('slotLagBytes', METRIC.slotLagBytes, slot, 'Maximum'),
    custom('confirmedLsnLagMs', METRIC.confirmedLsnLagMs, slot, 'Maximum'),
    custom('sinkLatencyMs', METRIC.sinkLatencyMs, slot, 'Maximum'),
    { id: 'kinesisIteratorAgeMs', namespace: 'AWS/Kinesis', metricName: 'GetRecords.IteratorAgeMilliseconds', dimensions: { StreamName: names.streamName }, stat: 'Maximum', periodS: PERIOD_S },
    ...(names.processorFunctionName
      ? [{ id: 'lambdaIteratorAgeMs', namespace: 'AWS/Lambda', metricName: 'IteratorAge', dimensions: { FunctionName: names.processorFunctionName }, stat: 'Maximum', periodS: PERIOD_S } satisfies MetricQuery]
      : []),
    custom('eventsProcessed', METRIC.eventsProcessed, processor, 'Sum'),
    custom('eventsQuarantined', METRIC.eventsQuarantined, processor, 'Sum'),
    custom('warehouseFreshnessMs', METRIC.warehouseFreshnessMs, loader, 'Maximum'),
    custom('warehouseWatermarkAgeMs', METRIC.warehouseWatermarkAgeMs, loader, 'Maximum'),
    custom('loaderFailures', METRIC.loaderFailures, loader, 'Sum'),
  ];
}

export interface MetricsSummary {
  windowMinutes: number;
  capture: {
    lastHeartbeatAt: string | null;
    /** now − the newest minute with a heartbeat; the capture heartbeats every few seconds. */
    heartbeatAgeMs: number | null;
    /** No heartbeat for more than 3 minutes: the capture is down, stuck or cannot reach Postgres. */
    stale: boolean;
    eventsPublished: number;
    slotLagBytes: number | null;
    confirmedLsnLagMs: number | null;
    sinkLatencyMs: number | null;
  };
  stream: { kinesisIteratorAgeMs: number | null; lambdaIteratorAgeMs: number | null };
  processor: { eventsProcessed: number; eventsQuarantined: number };
  loader: { warehouseFreshnessMs: number | null; warehouseWatermarkAgeMs: number | null; loaderFailures: number };
}

const HEARTBEAT_STALE_MS = 3 * 60_000;

export function summariseMetrics(series: readonly MetricSeries[], nowMs: number, windowMinutes: number): MetricsSummary {
  const byId = new Map(series.map((s) => [s.id, s]));
  const newest = (id: string): { at: Date; value: number } | null => {
    const s = byId.get(id);
    if (!s || s.values.length === 0) return null;
    // GetMetricData returns newest first with ScanBy TimestampDescending; do not rely on it.
    let best = 0;
    for (let i = 1; i < s.timestamps.length; i++) if (s.timestamps[i].getTime() > s.timestamps[best].getTime()) best = i;
    return { at: s.timestamps[best], value: s.values[best] };
  };
  const latest = (id: string) => newest(id)?.value ?? null;
  const sum = (id: string) => (byId.get(id)?.values ?? []).reduce((n, v) => n + v, 0);
  const heartbeat = newest('heartbeat');
  const heartbeatAgeMs = heartbeat ? Math.max(0, nowMs - heartbeat.at.getTime()) : null;
  return {
    windowMinutes,
    capture: {
      lastHeartbeatAt: heartbeat ? heartbeat.at.toISOString() : null,
      heartbeatAgeMs,
      stale: heartbeatAgeMs === null || heartbeatAgeMs > HEARTBEAT_STALE_MS,
      eventsPublished: sum('eventsPublished'),
      slotLagBytes: latest('slotLagBytes'),
      confirmedLsnLagMs: latest('confirmedLsnLagMs'),
      sinkLatencyMs: latest('sinkLatencyMs'),
    },
    stream: { kinesisIteratorAgeMs: latest('kinesisIteratorAgeMs'), lambdaIteratorAgeMs: latest('lambdaIteratorAgeMs') },
    processor: { eventsProcessed: sum('eventsProcessed'), eventsQuarantined: sum('eventsQuarantined') },
    loader: { warehouseFreshnessMs: latest('warehouseFreshnessMs'), warehouseWatermarkAgeMs: latest('warehouseWatermarkAgeMs'), loaderFailures: sum('loaderFailures') },
  };
}
