import type { SourceTable } from '../../contracts/source-tables.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeEmf, METRIC, type MetricName } from '../../platform/metrics.js';
import type { SlotLoss, SlotStatus } from '../control/slot-status.js';
import type { CapturePhase } from '../lifecycle/capture-lifecycle.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';

export type { CapturePhase };

/**
 * Live counters of a running capture. Written atomically (temp file + rename) to the status file
 * so `status` can read it at any moment; printed as CloudWatch embedded-metric-format lines in AWS.
 */
export interface CaptureStatus {
  pid: number;
  slotName: string;
  publicationName: string;
  /** Written only by the lifecycle (capture-lifecycle.ts, invariant L1). */
  phase: CapturePhase;
  startedAt: string;
  updatedAt: string;
  eventsPublished: number;
  snapshotRowsPublished: number;
  eventsPerSec: number;
  lastReceivedLsn: string | null;
  lastConfirmedLsn: string | null;
  lastConfirmedAt: string | null;
  slotLagBytes: number | null;
  walStatus: string | null;
  safeWalSizeBytes: number | null;
  sinkLatencyMs: number | null;
  inFlightEvents: number;
  reconnects: number;
  /** Always 0 since TRUNCATEs are reconciled (kept for readers of older status files). */
  truncatesSkipped: number;
  /** TRUNCATEs turned into reconcile records (their rows get delete versions downstream). */
  truncatesReconciled?: number;
  /** Reconcile record copies published (contracts/reconcile.ts): one per snapshot chunk or truncated table, per shard. */
  reconcileRecordsPublished?: number;
  /** How many times the slot was found lost (invalidated or missing) by this process. */
  slotLosses?: number;
  /** The last slot loss and its recovery; null when none was seen. */
  slotLost?: SlotLostStatus | null;
  /** `resnapshot --table` jobs of this process, the last ten (capture/snapshot/incremental-snapshot.ts). */
  resnapshots?: ResnapshotProgress[];
  lastError: string | null;
}

export interface SlotLostStatus {
  reason: SlotLoss;
  detectedAt: string;
  /** The lost slot's last confirmed position (invalidated slot), else the last one this process confirmed. */
  lastConfirmedLsn: string | null;
  /** What happens: a new slot, a snapshot of every table, reconciliation downstream. */
  recovery: 'resnapshot';
  /** When the recovery snapshot was published in full; null while it runs. */
  recoveredAt: string | null;
}

export class CaptureStats {
  readonly status: CaptureStatus;
  private rateWindow: { atMs: number; events: number } = { atMs: Date.now(), events: 0 };

  constructor(slotName: string, publicationName: string) {
    const now = new Date().toISOString();
    this.status = {
      pid: process.pid,
      slotName,
      publicationName,
      phase: 'starting',
      startedAt: now,
      updatedAt: now,
      eventsPublished: 0,
      snapshotRowsPublished: 0,
      eventsPerSec: 0,
      lastReceivedLsn: null,
      lastConfirmedLsn: null,
      lastConfirmedAt: null,
      slotLagBytes: null,
      walStatus: null,
      safeWalSizeBytes: null,
      sinkLatencyMs: null,
      inFlightEvents: 0,
      reconnects: 0,
      truncatesSkipped: 0,
      truncatesReconciled: 0,
      reconcileRecordsPublished: 0,
      slotLosses: 0,
      slotLost: null,
      lastError: null,
    };
  }

  published(records: number, latencyMs: number, otherRecords = 0): void {
    this.status.eventsPublished += records;
    this.status.reconcileRecordsPublished = (this.status.reconcileRecordsPublished ?? 0) + otherRecords;
    // Exponentially weighted, so one slow fsync does not dominate the reading.
    this.status.sinkLatencyMs = this.status.sinkLatencyMs === null ? latencyMs : this.status.sinkLatencyMs * 0.8 + latencyMs * 0.2;
  }

  slot(status: SlotStatus): void {
    this.status.slotLagBytes = status.lagBytes;
    this.status.walStatus = status.walStatus;
    this.status.safeWalSizeBytes = status.safeWalSizeBytes;
  }

  /** Recomputes events/s over the time since the previous call and stamps updatedAt. */
  tick(): CaptureStatus {
    const now = Date.now();
    const seconds = (now - this.rateWindow.atMs) / 1000;
    if (seconds > 0) this.status.eventsPerSec = Math.round((this.status.eventsPublished - this.rateWindow.events) / seconds);
    this.rateWindow = { atMs: now, events: this.status.eventsPublished };
    this.status.updatedAt = new Date(now).toISOString();
    return { ...this.status };
  }
}

/** Where a capture on this state directory keeps its live status (`status` and `up` read it). */
export function defaultStatusFile(stateDir: string): string {
  return path.join(stateDir, 'capture-status.json');
}

export async function writeStatusFile(file: string, status: CaptureStatus): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(status, null, 2) + '\n', { durable: false });
}

/** One CloudWatch EMF line (namespace TotesysCdc, dimension SlotName). `slotLossesSinceLast`: losses detected since the previous line (the SlotLost alarm). */
export function emfLine(status: CaptureStatus, eventsSinceLast: number, timestampMs = Date.now(), slotLossesSinceLast = 0): string {
  const metrics: Partial<Record<MetricName, number>> = { [METRIC.eventsPublished]: eventsSinceLast, [METRIC.captureHeartbeat]: 1 };
  if (slotLossesSinceLast > 0) metrics[METRIC.slotLost] = slotLossesSinceLast;
  if (status.slotLagBytes !== null) metrics[METRIC.slotLagBytes] = status.slotLagBytes;
  if (status.sinkLatencyMs !== null) metrics[METRIC.sinkLatencyMs] = Math.round(status.sinkLatencyMs);
  if (status.lastConfirmedAt) metrics[METRIC.confirmedLsnLagMs] = Math.max(0, timestampMs - Date.parse(status.lastConfirmedAt));
  return encodeEmf({
    dimensions: { SlotName: status.slotName },
    metrics,
    properties: { walStatus: status.walStatus, lastConfirmedLsn: status.lastConfirmedLsn },
    timestampMs,
  });
}

/** One `resnapshot --table` job as status shows it (capture/snapshot/incremental-snapshot.ts runs it). */
export interface ResnapshotProgress {
  requestId: string;
  table: SourceTable;
  /** interrupted: its session ended; the job is kept in the source and resumes when the capture streams again. */
  state: 'running' | 'interrupted' | 'done' | 'abandoned';
  chunks: number;
  rowsRead: number;
  rowsPublished: number;
  startedAt: string;
  finishedAt: string | null;
  error?: string;
  /** Times this job was resumed from the source after a session ended (capture-spec I5). */
  resumes?: number;
}
