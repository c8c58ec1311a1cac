import { parseLsn } from '../../contracts/lsn.js';
import type { ReconcileRecord } from '../../contracts/reconcile.js';

/**
 * The reconcile records of a replay's selection (contracts/reconcile.ts: a TRUNCATE, a chunk of a
 * snapshot or of `resnapshot --table`), kept aside by the scan: they are not change events and do
 * not go through the sort. The capture put one copy on every shard, and a retry may archive a copy
 * twice: they are deduplicated by id (copies of one id are identical). Replay applies them in
 * version order once every archived event is loaded (loader/apply-reconciles.ts
 * applyReconcilesInOrder).
 *
 * Memory: one record per distinct reconcile, each with its chunk's keys (at most a snapshot chunk's
 * rows, 1,000 for `resnapshot`; a FETCH batch for a snapshot): about the keys of every re-read of
 * the source in the selection, e.g. 30k keys for one totesys snapshot.
 */
export class ArchivedReconciles {
  private readonly byId = new Map<string, ReconcileRecord>();
  /** Copies read, duplicates included. */
  copies = 0;

  add(records: readonly ReconcileRecord[]): void {
    for (const record of records) {
      this.copies++;
      if (!this.byId.has(record.id)) this.byId.set(record.id, record);
    }
  }

  /** Distinct reconciles by version (lsn, seq), then id: the order they are applied in. */
  inVersionOrder(): ReconcileRecord[] {
    const keyed = [...this.byId.values()].map((record) => ({ lsn: parseLsn(record.lsn), record }));
    keyed.sort((a, b) => (a.lsn < b.lsn ? -1 : a.lsn > b.lsn ? 1 : a.record.seq - b.record.seq || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0)));
    return keyed.map((k) => k.record);
  }
}
