import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { METRIC_HELP, METRIC_UNITS, type MetricName } from './metric-names.js';
import type { MetricKind, MetricsRegistry } from './registry.js';

/** Prometheus names are the CloudWatch names under a namespace prefix: `totesys_cdc_slotLagBytes`. */
const PROMETHEUS_PREFIX = 'totesys_cdc_';

export interface PrometheusExporter {
  readonly contentType: string;
  /** The registry's series in the Prometheus text exposition format (plus this process's own metrics). */
  render(): Promise<string>;
}

/**
 * Renders a MetricsRegistry as Prometheus text with prom-client: one metric per name (counter or
 * gauge, as recorded), its dimensions as labels. Values are read from the registry at scrape time,
 * so nothing is copied between scrapes.
 */
export function prometheusExporter(registry: MetricsRegistry, options: { processMetrics?: boolean } = {}): PrometheusExporter {
  const prom = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: prom, prefix: PROMETHEUS_PREFIX });
  const declared = new Map<string, { kind: MetricKind; labels: string }>();

  const declare = (name: MetricName, kind: MetricKind, labelNames: string[]) => {
    const promName = PROMETHEUS_PREFIX + name;
    const labels = labelNames.join(',');
    const existing = declared.get(promName);
    if (existing && existing.kind === kind && existing.labels === labels) return;
    if (existing) prom.removeSingleMetric(promName);
    declared.set(promName, { kind, labels });
    const help = `${METRIC_HELP[name]} (${METRIC_UNITS[name]})`;
    // collect() runs at scrape time: reset, then copy the registry's current values in.
    const metric = { name: promName, help, labelNames, registers: [prom] };
    const samples = () => registry.samples().filter((s) => s.name === name && s.kind === kind);
    if (kind === 'counter') {
      new Counter({
        ...metric,
        collect() {
          this.reset();
          for (const s of samples()) this.inc(labelsOf(s.dimensions, labelNames), s.value);
        },
      });
    } else {
      new Gauge({
        ...metric,
        collect() {
          this.reset();
          for (const s of samples()) this.set(labelsOf(s.dimensions, labelNames), s.value);
        },
      });
    }
  };

  return {
    contentType: prom.contentType,
    async render() {
      // Label names are fixed per metric in Prometheus: the union of the dimensions seen so far.
      const shapes = new Map<MetricName, { kind: MetricKind; labels: Set<string> }>();
      for (const s of registry.samples()) {
        const shape = shapes.get(s.name) ?? { kind: s.kind, labels: new Set<string>() };
        for (const label of Object.keys(s.dimensions)) shape.labels.add(label);
        shapes.set(s.name, shape);
      }
      for (const [name, shape] of shapes) declare(name, shape.kind, [...shape.labels].sort());
      return prom.metrics();
    },
  };
}

function labelsOf(dimensions: Readonly<Record<string, string>>, labelNames: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const label of labelNames) labels[label] = dimensions[label] ?? '';
  return labels;
}
