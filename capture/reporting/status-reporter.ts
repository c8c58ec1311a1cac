import type { Logger } from '../../platform/logger.js';
import type { SlotStatus } from '../control/slot-status.js';
import { emfLine, writeStatusFile, type CaptureStats, type CaptureStatus } from './capture-status.js';

export interface StatusReporterOptions {
  /** Live status JSON, rewritten atomically every statusIntervalMs. */
  statusFile?: string;
  /** 'emf': CloudWatch embedded-metric-format lines on stdout (AWS). */
  metrics?: 'none' | 'emf';
  statusIntervalMs?: number;
  metricsIntervalMs?: number;
  /** The slot's health (lag, wal_status), read after each status write. */
  readSlotStatus: () => Promise<SlotStatus>;
  logger: Logger;
}

export interface StatusReporter {
  /** Stops the timer and writes the final status (and EMF line), e.g. phase stopped or failed. */
  stop(): Promise<void>;
}

/**
 * Reports a running capture: the status file every statusIntervalMs (`status`, `up` and the
 * container health check read it), an EMF line every metricsIntervalMs, and the slot's lag read
 * from the source into the counters in between. Nothing runs when neither output is asked for.
 */
export function startStatusReporter(stats: CaptureStats, options: StatusReporterOptions): StatusReporter {
  const statusIntervalMs = options.statusIntervalMs ?? 2_000;
  const metricsIntervalMs = options.metricsIntervalMs ?? 10_000;
  let lastMetricsMs = Date.now();
  let eventsAtLastMetrics = 0;
  let lossesAtLastMetrics = 0;
  let writing: Promise<void> = Promise.resolve();
  const write = async (final: boolean) => {
    // Status first, slot reading after: a source outage (connect timeout) must not leave the status
    // file stale, since health checks judge liveness by its freshness.
    const status: CaptureStatus = stats.tick();
    if (options.statusFile) await writeStatusFile(options.statusFile, status).catch((error) => options.logger.warn('status file write failed', { error }));
    if (options.metrics === 'emf' && (final || Date.now() - lastMetricsMs >= metricsIntervalMs)) {
      process.stdout.write(emfLine(status, status.eventsPublished - eventsAtLastMetrics, Date.now(), (status.slotLosses ?? 0) - lossesAtLastMetrics) + '\n');
      lastMetricsMs = Date.now();
      eventsAtLastMetrics = status.eventsPublished;
      lossesAtLastMetrics = status.slotLosses ?? 0;
    }
    if (!final) {
      try {
        stats.slot(await options.readSlotStatus());
      } catch {
        // Postgres restarting: keep the last reading.
      }
    }
  };
  const active = Boolean(options.statusFile) || options.metrics === 'emf';
  const timer = active ? setInterval(() => (writing = writing.then(() => write(false))), statusIntervalMs) : null;
  return {
    async stop() {
      if (timer) clearInterval(timer);
      await writing;
      if (active) await write(true);
    },
  };
}
