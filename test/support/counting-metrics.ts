import type { MetricName } from '../../platform/metrics.js';
import type { MetricsSink } from '../../stream-processors/processor-metrics.js';

/** In-memory counters: what the processor counted, for tests and the process bench. */
export class CountingMetrics implements MetricsSink {
  readonly totals = new Map<MetricName, number>();
  count(name: MetricName, value: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
  }
  get(name: MetricName): number {
    return this.totals.get(name) ?? 0;
  }
}
