import type { WarehouseTable } from '../contracts/warehouse-model.js';

/** Live counters of the in-process stages, for the `up` view and the `sync` summary. */
export interface PipelineCounters {
  simulator: { changes: number; byKind: Record<string, number> };
  processor: { batches: number; events: number; quarantined: number; lastBatchMs: number | null };
  archiver: { objects: number; records: number };
  loader: {
    manifests: number;
    rows: number;
    rowsByTable: Partial<Record<WarehouseTable, number>>;
    failures: number;
    /** Commit → loaded latency of the newest batch the last load brought in. */
    lastLatencyMs: number | null;
    freshnessMs: number | null;
    /** now − the warehouse watermark at the last load (contracts/watermark.ts). */
    watermarkAgeMs: number | null;
    lastError: string | null;
  };
}

export function newCounters(): PipelineCounters {
  return {
    simulator: { changes: 0, byKind: {} },
    processor: { batches: 0, events: 0, quarantined: 0, lastBatchMs: null },
    archiver: { objects: 0, records: 0 },
    loader: { manifests: 0, rows: 0, rowsByTable: {}, failures: 0, lastLatencyMs: null, freshnessMs: null, watermarkAgeMs: null, lastError: null },
  };
}
