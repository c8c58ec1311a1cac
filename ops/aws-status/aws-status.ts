import type { SlotStatus } from '../../capture/control/slot-status.js';
import type { WarehouseStatus } from '../../loader/warehouse-status.js';
import { errorMessage } from '../../platform/errors.js';
import { statusMetricQueries, summariseMetrics, type MetricNames, type MetricQuery, type MetricSeries, type MetricsSummary } from './metric-queries.js';

/**
 * `status --aws`: the deployed pipeline seen from outside, every part read through its own port so
 * one unreachable part (no CloudWatch permission, a private warehouse) never hides the others:
 * the slot from the source (the truth about WAL kept, even when the capture is down), the capture's
 * heartbeat and metrics, stream iterator ages and processor counts from CloudWatch, the DLQ depth,
 * the quarantine in the processed bucket, and the warehouse's freshness from its ledger.
 */
export interface AwsStatusPorts {
  slot(): Promise<SlotStatus>;
  metrics(queries: readonly MetricQuery[], window: { start: Date; end: Date }): Promise<MetricSeries[]>;
  /** Absent when no dead-letter queue is configured. */
  deadLetterQueue?: () => Promise<{ visible: number; inFlight: number | null }>;
  quarantine(): Promise<QuarantineSummary>;
  warehouse(): Promise<WarehouseStatus>;
}

export interface QuarantineSummary {
  /** Objects under quarantine/ (counted up to `limit`). */
  objects: number;
  limited: boolean;
  /** Newest date partition holding quarantined input, e.g. 2026-12-07. */
  newestDate: string | null;
}

type Part<T> = T | { error: string };

export interface AwsStatus {
  at: string;
  slot: Part<SlotStatus>;
  metrics: Part<MetricsSummary>;
  deadLetterQueue: Part<{ visible: number; inFlight: number | null }> | null;
  quarantine: Part<QuarantineSummary>;
  warehouse: Part<WarehouseStatus>;
}

export interface AwsStatusOptions {
  names: MetricNames;
  windowMinutes?: number;
  now?: () => number;
}

export async function readAwsStatus(ports: AwsStatusPorts, options: AwsStatusOptions): Promise<AwsStatus> {
  const nowMs = (options.now ?? Date.now)();
  const windowMinutes = options.windowMinutes ?? 30;
  const window = { start: new Date(nowMs - windowMinutes * 60_000), end: new Date(nowMs) };
  const [slot, metrics, deadLetterQueue, quarantine, warehouse] = await Promise.all([
    settle(ports.slot),
    settle(async () => summariseMetrics(await ports.metrics(statusMetricQueries(options.names), window), nowMs, windowMinutes)),
    ports.deadLetterQueue ? settle(ports.deadLetterQueue) : Promise.resolve(null),
    settle(ports.quarantine),
    settle(ports.warehouse),
  ]);
  return { at: new Date(nowMs).toISOString(), slot, metrics, deadLetterQueue, quarantine, warehouse };
}

async function settle<T>(read: () => Promise<T>): Promise<Part<T>> {
  try {
    return await read();
  } catch (error) {
    return { error: errorMessage(error) };
  }
}
