import { errorMessage } from '../platform/errors.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import type { PipelineCounters } from '../runtime/pipeline-counters.js';
import type { PipelineStatus } from '../runtime/pipeline-status.js';
import { cursorOf, nextSample, panelsOf, type DashboardPanels, type DashboardSample, type SampleCursor } from './dashboard-model.js';
import type { EventFeed } from './event-feed.js';
import { metricsMirror } from './metrics-mirror.js';

export interface DashboardUpdate {
  sample: DashboardSample;
  panels: DashboardPanels;
}

export interface SamplerOptions {
  counters: PipelineCounters;
  /** The same reading `status --json` prints (slot, capture status file, stream lag, warehouse). */
  readStatus: () => Promise<PipelineStatus>;
  feed: EventFeed;
  registry: MetricsRegistry;
  simulating: boolean;
  intervalMs?: number;
  /** Points kept for a newly opened page (default 900: 15 minutes at 1 s). */
  historySize?: number;
  onUpdate: (update: DashboardUpdate) => void;
}

/**
 * Reads the pipeline once per interval and keeps the chart history. A reading that fails (a stage
 * restarting, the warehouse briefly away) becomes a panel error and the next tick tries again: the
 * sampler never stops while `up` runs. Ticks never overlap: a slow reading delays the next one.
 */
export class DashboardSampler {
  readonly history: DashboardSample[] = [];
  panels: DashboardPanels | null = null;
  private cursor: SampleCursor;
  private readonly freshnessWindow: { atMs: number; freshnessMs: number }[] = [];
  private readonly mirror: ReturnType<typeof metricsMirror>;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastCaptureError: string | null = null;

  constructor(private readonly options: SamplerOptions) {
    this.cursor = cursorOf(options.counters, Date.now());
    this.mirror = metricsMirror(options.registry);
  }

  start(): void {
    const loop = async () => {
      await this.tick();
      if (!this.stopped) this.timer = setTimeout(loop, this.options.intervalMs ?? 1_000);
    };
    this.timer = setTimeout(loop, 0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async tick(): Promise<DashboardUpdate> {
    const { counters } = this.options;
    let status: PipelineStatus | null = null;
    try {
      status = await this.options.readStatus();
    } catch (error) {
      this.options.feed.add({ at: new Date().toISOString(), kind: 'error', stage: 'dashboard', message: 'reading the pipeline status failed', error: errorMessage(error) });
    }
    const atMs = Date.now();
    // The capture runs as a child process: its errors reach the page through its status file.
    const captureError = status?.capture?.lastError ?? null;
    if (captureError && captureError !== this.lastCaptureError) {
      this.options.feed.add({ at: new Date(atMs).toISOString(), kind: 'error', stage: 'capture', message: 'capture error', error: captureError });
    }
    this.lastCaptureError = captureError;
    const sample = nextSample(this.cursor, counters, status, atMs, this.freshnessWindow, this.options.simulating);
    this.cursor = cursorOf(counters, atMs);
    this.history.push(sample);
    if (this.history.length > (this.options.historySize ?? 900)) this.history.shift();
    this.panels = panelsOf(counters, status, this.options.feed.latest(), atMs);
    this.mirror(counters, status);
    const update = { sample, panels: this.panels };
    this.options.onUpdate(update);
    return update;
  }
}
