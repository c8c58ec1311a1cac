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

interface Series extends MetricSample {
  /** Counter increments not yet handed to a delta exporter (EMF reports what happened since its last line). */
  pending: number;
}

/**
 * The process's metrics: counters (only grow) and gauges (last value), each a series per name and
 * dimensions. Exporters read it two ways: cumulative (Prometheus scrapes totals and computes rates)
 * and as deltas (a CloudWatch EMF line carries what happened since the previous line). Pure data:
 * nothing here does I/O.
 */
export class MetricsRegistry {
  private readonly series = new Map<string, Series>();

  count(name: MetricName, value = 1, dimensions: Dimensions = {}): void {
    if (!Number.isFinite(value) || value < 0) return; // a counter never goes down
    const series = this.seriesOf(name, 'counter', dimensions);
    series.value += value;
    series.pending += value;
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

  /** Counters' increments since the previous call (zero ones left out) and gauges' current values. */
  takeDeltas(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const series of this.series.values()) {
      if (series.kind === 'gauge') out.push({ name: series.name, kind: 'gauge', dimensions: series.dimensions, value: series.value });
      else if (series.pending > 0) {
        out.push({ name: series.name, kind: 'counter', dimensions: series.dimensions, value: series.pending });
        series.pending = 0;
      }
    }
    return out;
  }

  private seriesOf(name: MetricName, kind: MetricKind, dimensions: Dimensions): Series {
    const key = `${name}\u0000${kind}\u0000${JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    let series = this.series.get(key);
    if (!series) {
      series = { name, kind, dimensions: { ...dimensions }, value: 0, pending: 0 };
      this.series.set(key, series);
    }
    return series;
  }
}

/** The one registry of this process: every stage running here records into it; `/metrics` reads it. */
export const processMetrics = new MetricsRegistry();
