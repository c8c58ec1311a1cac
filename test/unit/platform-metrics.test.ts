import { describe, expect, it } from 'vitest';
import { emfLine, type CaptureStatus } from '../../capture/reporting/capture-status.js';
import { loaderEmfLine } from '../../loader/lambda/emf.js';
import type { LoadSummary } from '../../loader/run-loader.js';
import { METRIC, METRICS_NAMESPACE, MetricsRegistry } from '../../platform/metrics.js';
import { prometheusExporter } from '../../platform/metrics/prometheus-exporter.js';
import { embeddedMetricFormat } from '../../stream-processors/processor-metrics.js';
import { parsePrometheusText } from '../support/prometheus-text.js';
import { fixtureFactory } from '../support/fixture-factory.js';

/**
 * The three EMF encoders this module replaced, verbatim (capture status, processor, loader Lambda):
 * the lines CloudWatch reads must not change (namespace, dimension sets, metric names and units,
 * values), or the CDK dashboard, alarms and capture metric filters would go blank.
 */
const before = {
  capture(status: CaptureStatus, eventsSinceLast: number, timestampMs: number): string {
    const metrics: Record<string, number> = { eventsPublished: eventsSinceLast, captureHeartbeat: 1 };
    if (status.slotLagBytes !== null) metrics.slotLagBytes = status.slotLagBytes;
    if (status.sinkLatencyMs !== null) metrics.sinkLatencyMs = Math.round(status.sinkLatencyMs);
    if (status.lastConfirmedAt) metrics.confirmedLsnLagMs = Math.max(0, timestampMs - Date.parse(status.lastConfirmedAt));
    const units: Record<string, string> = { eventsPublished: 'Count', captureHeartbeat: 'Count', slotLagBytes: 'Bytes', sinkLatencyMs: 'Milliseconds', confirmedLsnLagMs: 'Milliseconds' };
    return JSON.stringify({
      _aws: { Timestamp: timestampMs, CloudWatchMetrics: [{ Namespace: 'TotesysCdc', Dimensions: [['SlotName']], Metrics: Object.keys(metrics).map((name) => ({ Name: name, Unit: units[name] })) }] },
      SlotName: status.slotName,
      ...metrics,
      walStatus: status.walStatus,
      lastConfirmedLsn: status.lastConfirmedLsn,
    });
  },
  processor(service: string, name: string, value: number, timestampMs: number): string {
    return JSON.stringify({ _aws: { Timestamp: timestampMs, CloudWatchMetrics: [{ Namespace: 'TotesysCdc', Dimensions: [['service']], Metrics: [{ Name: name, Unit: 'Count' }] }] }, service, [name]: value });
  },
  loader(summary: LoadSummary, now: number): string {
    const values: Record<string, number> = { rowsLoaded: summary.rowsLoaded, manifestsLoaded: summary.manifestsLoaded, loaderFailures: summary.manifestsFailed };
    const units: Record<string, string> = { rowsLoaded: 'Count', manifestsLoaded: 'Count', loaderFailures: 'Count' };
    if (summary.freshnessMs !== null) {
      values.warehouseFreshnessMs = Math.round(summary.freshnessMs);
      units.warehouseFreshnessMs = 'Milliseconds';
    }
    return JSON.stringify({
      _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: 'TotesysCdc', Dimensions: [['service']], Metrics: Object.entries(units).map(([Name, Unit]) => ({ Name, Unit })) }] },
      service: 'loader',
      schema: summary.schema,
      status: summary.status,
      ...values,
    });
  },
};

const captureStatus = fixtureFactory<CaptureStatus>({
  pid: 1,
  slotName: 'totesys_cdc',
  publicationName: 'totesys_cdc',
  phase: 'streaming',
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:10.000Z',
  eventsPublished: 120,
  snapshotRowsPublished: 100,
  eventsPerSec: 2,
  lastReceivedLsn: '0/16B3748',
  lastConfirmedLsn: '0/16B3700',
  lastConfirmedAt: '2026-01-01T00:00:09.000Z',
  slotLagBytes: 4096,
  walStatus: 'reserved',
  safeWalSizeBytes: null,
  sinkLatencyMs: 3.7,
  inFlightEvents: 0,
  reconnects: 0,
  truncatesSkipped: 0,
  lastError: null,
});

const loadSummary = fixtureFactory<LoadSummary>({
  status: 'completed',
  schema: 'star',
  manifestsLoaded: 3,
  manifestsSkipped: 0,
  manifestsFailed: 1,
  failures: [],
  rowsLoaded: 250,
  eventsLoaded: 200,
  rowsByTable: {},
  inferredMembers: 0,
  newestCommitTs: null,
  freshnessMs: 1234.6,
  watermarkTs: null,
  watermarkAgeMs: null,
  listings: 1,
  listingMs: 5,
  durationMs: 80,
});

describe('EMF: one encoder, the same lines CloudWatch read before', () => {
  const at = Date.parse('2026-01-01T00:00:10.500Z');

  it('capture status lines are byte for byte what they were', () => {
    for (const status of [captureStatus(), captureStatus({ slotLagBytes: null, sinkLatencyMs: null, lastConfirmedAt: null, walStatus: null, lastConfirmedLsn: null })]) {
      expect(emfLine(status, 20, at)).toBe(before.capture(status, 20, at));
    }
  });

  it('processor counter lines are byte for byte what they were', () => {
    const lines: string[] = [];
    const sink = embeddedMetricFormat('stream-processor', (line) => lines.push(line));
    const realNow = Date.now;
    Date.now = () => at;
    try {
      sink.count(METRIC.eventsProcessed, 42);
      sink.count(METRIC.eventsQuarantined, 1);
    } finally {
      Date.now = realNow;
    }
    expect(lines).toEqual([before.processor('stream-processor', 'eventsProcessed', 42, at), before.processor('stream-processor', 'eventsQuarantined', 1, at)]);
  });

  it('loader lines carry the same namespace, dimensions, metrics, units, values and fields', () => {
    for (const summary of [loadSummary(), loadSummary({ freshnessMs: null, status: 'locked' })]) {
      const line = loaderEmfLine(summary, at);
      // Member order moved (properties after values); CloudWatch reads members by name, not position.
      expect(JSON.parse(line)).toEqual(JSON.parse(before.loader(summary, at)));
      expect(JSON.parse(line)._aws.CloudWatchMetrics[0]).toEqual(JSON.parse(before.loader(summary, at))._aws.CloudWatchMetrics[0]);
    }
  });

  it('every line names the project namespace and a dimension present on the line', () => {
    const line = JSON.parse(emfLine(captureStatus(), 1, at));
    const directive = line._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    for (const dimension of directive.Dimensions[0]) expect(typeof line[dimension]).toBe('string');
    for (const metric of directive.Metrics) expect(typeof line[metric.Name]).toBe('number');
  });
});

describe('MetricsRegistry', () => {
  it('keeps cumulative counters and last gauge values', () => {
    const registry = new MetricsRegistry();
    registry.count(METRIC.rowsLoaded, 5);
    registry.count(METRIC.rowsLoaded, 7);
    registry.gauge(METRIC.consumerLagRecords, 3, { consumer: 'archiver' });
    registry.gauge(METRIC.consumerLagRecords, 2, { consumer: 'archiver' });
    registry.count(METRIC.rowsLoaded, -1); // ignored: counters never go down
    registry.gauge(METRIC.batchDurationMs, Number.NaN); // ignored
    expect(registry.samples()).toEqual([
      { name: 'rowsLoaded', kind: 'counter', dimensions: {}, value: 12 },
      { name: 'consumerLagRecords', kind: 'gauge', dimensions: { consumer: 'archiver' }, value: 2 },
    ]);
  });

  it('one series per dimension set, in any key order', () => {
    const registry = new MetricsRegistry();
    registry.gauge(METRIC.warehouseRows, 1, { table: 'dim_date', schema: 'star' });
    registry.gauge(METRIC.warehouseRows, 2, { schema: 'star', table: 'dim_date' });
    registry.gauge(METRIC.warehouseRows, 3, { schema: 'star', table: 'fact_sales_order' });
    expect(registry.samples().map((s) => s.value)).toEqual([2, 3]);
    registry.clearGauge(METRIC.warehouseRows);
    expect(registry.samples()).toEqual([]);
  });
});

describe('Prometheus exporter', () => {
  it('renders the registry as valid Prometheus text with the CloudWatch names', async () => {
    const registry = new MetricsRegistry();
    registry.count(METRIC.rowsLoaded, 12);
    registry.gauge(METRIC.consumerLagRecords, 3, { consumer: 'archiver' });
    registry.gauge(METRIC.consumerLagRecords, 0, { consumer: 'stream-processor' });
    registry.gauge(METRIC.slotWalStatus, 1, { walStatus: 'reserved', slotName: 'totesys_cdc' });
    const exporter = prometheusExporter(registry);
    const samples = parsePrometheusText(await exporter.render());
    expect(samples).toContainEqual({ name: 'totesys_cdc_rowsLoaded', labels: {}, value: 12, type: 'counter' });
    expect(samples).toContainEqual({ name: 'totesys_cdc_consumerLagRecords', labels: { consumer: 'archiver' }, value: 3, type: 'gauge' });
    expect(samples).toContainEqual({ name: 'totesys_cdc_slotWalStatus', labels: { slotName: 'totesys_cdc', walStatus: 'reserved' }, value: 1, type: 'gauge' });
    expect(samples.some((s) => s.name === 'totesys_cdc_process_cpu_user_seconds_total')).toBe(true);
    expect(exporter.contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    // Values are read at scrape time; a label added later widens the metric's label set.
    registry.count(METRIC.rowsLoaded, 3);
    registry.gauge(METRIC.consumerLagRecords, 9, { consumer: 'archiver', shard: '0' });
    const again = parsePrometheusText(await exporter.render());
    expect(again).toContainEqual({ name: 'totesys_cdc_rowsLoaded', labels: {}, value: 15, type: 'counter' });
    expect(again).toContainEqual({ name: 'totesys_cdc_consumerLagRecords', labels: { consumer: 'archiver', shard: '0' }, value: 9, type: 'gauge' });
  });

  it('the parser rejects text that is not the exposition format', () => {
    expect(() => parsePrometheusText('<html>nope</html>')).toThrow(/not a Prometheus sample line/);
    expect(() => parsePrometheusText('x{a=b} 1')).toThrow(/bad labels/);
  });
});
