import { FACTS, WAREHOUSE_TABLES, type WarehouseTable } from '../contracts/warehouse-model.js';
import type { PipelineCounters } from '../runtime/pipeline-counters.js';
import type { PipelineStatus } from '../runtime/pipeline-status.js';
import type { FeedEntry } from './event-feed.js';

/**
 * What the dashboard page draws, shaped from what `up` already has: its in-process counters and the
 * same PipelineStatus `status --json` prints. Pure functions only: the sampler does the reading.
 */

/** One point of every chart. Rates are per second over the time since the previous point. */
export interface DashboardSample {
  atMs: number;
  sourceChangesPerSec: number | null;
  captureEventsPerSec: number | null;
  slotLagBytes: number | null;
  walStatus: string | null;
  /** Records each stream consumer has not read yet, by consumer name. */
  consumerLagRecords: Record<string, number>;
  processorEventsPerSec: number;
  batchDurationMs: number | null;
  /** Events quarantined since `up` started (cumulative). */
  quarantined: number;
  loaderRowsPerSec: number;
  /** now − newest commit in the warehouse, as `status` reports it. */
  freshnessMs: number | null;
  /** Freshness percentiles over FRESHNESS_WINDOW_MS. */
  freshnessP50Ms: number | null;
  freshnessP99Ms: number | null;
  /** now − the warehouse watermark (every change committed before it is loaded): true on a quiet source too. */
  watermarkAgeMs: number | null;
}

export interface TableRow {
  table: WarehouseTable;
  kind: 'dimension' | 'fact';
  /** Rows in the warehouse now (for a fact table every row is a version of a source row). */
  rows: number | null;
  /** Rows this `up` loaded into it. */
  loadedThisRun: number;
}

/** The panels beside the charts: the latest state, not a history. */
export interface DashboardPanels {
  atMs: number;
  capture: { phase: string; running: boolean; eventsPublished: number; lastConfirmedLsn: string | null } | null;
  slot: { slotName: string; exists: boolean; active: boolean; walStatus: string | null; lagBytes: number | null } | { error: string };
  warehouse:
    | { schema: string; initialised: boolean; freshnessMs: number | null; newestCommitTs: string | null; manifestsLoaded: number; failedManifests: number; parkedManifests: number }
    | { error: string };
  streamError: string | null;
  tables: TableRow[];
  events: FeedEntry[];
}

/** The cumulative counts the previous sample saw, to turn totals into rates. */
export interface SampleCursor {
  atMs: number;
  changes: number;
  events: number;
  rows: number;
}

export const FRESHNESS_WINDOW_MS = 5 * 60_000;

export function cursorOf(counters: PipelineCounters, atMs: number): SampleCursor {
  return { atMs, changes: counters.simulator.changes, events: counters.processor.events, rows: counters.loader.rows };
}

/** The next chart point; `freshnessWindow` is updated in place (samples older than the window drop out). */
export function nextSample(
  previous: SampleCursor,
  counters: PipelineCounters,
  status: PipelineStatus | null,
  atMs: number,
  freshnessWindow: { atMs: number; freshnessMs: number }[],
  simulating: boolean,
): DashboardSample {
  const seconds = Math.max((atMs - previous.atMs) / 1000, 0.001);
  const rate = (now: number, before: number) => round(Math.max(0, now - before) / seconds);
  const slot = status && !('error' in status.slot) && status.slot.exists ? status.slot : null;
  const capture = status?.capture && !status.capture.stale ? status.capture : null;
  const warehouse = status && !('error' in status.warehouse) && status.warehouse.initialised ? status.warehouse : null;
  const freshnessMs = warehouse?.freshnessMs ?? null;
  if (freshnessMs !== null) freshnessWindow.push({ atMs, freshnessMs });
  while (freshnessWindow.length > 0 && freshnessWindow[0].atMs < atMs - FRESHNESS_WINDOW_MS) freshnessWindow.shift();
  const window = freshnessWindow.map((s) => s.freshnessMs);
  const lags: Record<string, number> = {};
  if (status && Array.isArray(status.stream)) for (const lag of status.stream) lags[lag.consumer] = lag.records;
  return {
    atMs,
    sourceChangesPerSec: simulating ? rate(counters.simulator.changes, previous.changes) : null,
    captureEventsPerSec: capture ? capture.eventsPerSec : null,
    slotLagBytes: slot?.lagBytes ?? null,
    walStatus: slot?.walStatus ?? null,
    consumerLagRecords: lags,
    processorEventsPerSec: rate(counters.processor.events, previous.events),
    batchDurationMs: counters.processor.lastBatchMs,
    quarantined: counters.processor.quarantined,
    loaderRowsPerSec: rate(counters.loader.rows, previous.rows),
    freshnessMs,
    freshnessP50Ms: percentile(window, 0.5),
    freshnessP99Ms: percentile(window, 0.99),
    watermarkAgeMs: warehouse ? watermarkAgeOf(warehouse) : null,
  };
}

export function panelsOf(counters: PipelineCounters, status: PipelineStatus | null, events: FeedEntry[], atMs: number): DashboardPanels {
  const warehouse = status?.warehouse;
  const rowsByTable = warehouse && !('error' in warehouse) ? warehouse.rowsByTable : {};
  const slot = status?.slot;
  return {
    atMs,
    capture: status?.capture
      ? { phase: status.capture.phase, running: !status.capture.stale, eventsPublished: status.capture.eventsPublished, lastConfirmedLsn: status.capture.lastConfirmedLsn }
      : null,
    slot: !slot
      ? { error: 'not read yet' }
      : 'error' in slot
        ? { error: slot.error }
        : { slotName: slot.slotName, exists: slot.exists, active: slot.active, walStatus: slot.walStatus, lagBytes: slot.lagBytes },
    warehouse: !warehouse
      ? { error: 'not read yet' }
      : 'error' in warehouse
        ? { error: warehouse.error }
        : {
            schema: warehouse.schema,
            initialised: warehouse.initialised,
            freshnessMs: warehouse.freshnessMs,
            newestCommitTs: warehouse.newestCommitTs,
            manifestsLoaded: warehouse.manifestsLoaded,
            failedManifests: warehouse.failedManifests,
            parkedManifests: warehouse.parkedManifests,
          },
    streamError: status && !Array.isArray(status.stream) ? status.stream.error : null,
    tables: WAREHOUSE_TABLES.map((table) => ({
      table,
      kind: (FACTS as readonly string[]).includes(table) ? 'fact' : 'dimension',
      rows: rowsByTable[table] ?? null,
      loadedThisRun: counters.loader.rowsByTable[table] ?? 0,
    })),
    events,
  };
}

/** The watermark age `status` reports, where the warehouse status has one (older warehouses do not). */
export function watermarkAgeOf(warehouse: object): number | null {
  const age = (warehouse as { watermarkAgeMs?: unknown }).watermarkAgeMs;
  return typeof age === 'number' ? age : null;
}

/** Nearest-rank percentile; null for an empty window. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
