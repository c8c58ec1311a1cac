import type { MetricName } from './metric-names.js';

/** CloudWatch dimensions / Prometheus labels of one series, e.g. `{ consumer: 'archiver' }`. */
export type Dimensions = Readonly<Record<string, string>>;
export type MetricKind = 'counter' | 'gauge';

export interface MetricSample {
  name: MetricName;
  kind: MetricKind;
  dimensions: Dimensions;
  value: number;
}

/**
 * The process's metrics: counters (only grow) and gauges (last value), each a series per name and
 * dimensions, read at scrape time by the Prometheus exporter (totals: Prometheus computes rates).
 * In AWS each component writes its EMF lines as it reports (emf-exporter.ts), one line per report,
 * so Lambda and Fargate need no flush at the end of an invocation. Pure data: no I/O here.
 */
export class MetricsRegistry {
  private readonly series = new Map<string, MetricSample>();

  count(name: MetricName, value = 1, dimensions: Dimensions = {}): void {
    if (!Number.isFinite(value) || value < 0) return; // a counter never goes down
    this.seriesOf(name, 'counter', dimensions).value += value;
  }

  gauge(name: MetricName, value: number, dimensions: Dimensions = {}): void {
    if (!Number.isFinite(value)) return;
    this.seriesOf(name, 'gauge', dimensions).value = value;
  }

  /** Drops every gauge series of a name (e.g. the previous wal_status, a consumer that went away). */
  clearGauge(name: MetricName): void {
    for (const [key, series] of this.series) if (series.name === name && series.kind === 'gauge') this.series.delete(key);
  }

  /** Every series with its cumulative value, in first-seen order. */
  samples(): MetricSample[] {
    return [...this.series.values()].map(({ name, kind, dimensions, value }) => ({ name, kind, dimensions, value }));
  }

  private seriesOf(name: MetricName, kind: MetricKind, dimensions: Dimensions): MetricSample {
    const key = `${name}\u0000${kind}\u0000${JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    let series = this.series.get(key);
    if (!series) {
      series = { name, kind, dimensions: { ...dimensions }, value: 0 };
      this.series.set(key, series);
    }
    return series;
  }
}

/** The one registry of this process (in `up`, the dashboard's sampler fills it from the stages' counters and status); `/metrics` reads it. */
export const processMetrics = new MetricsRegistry();
