import type { ObjectInfo, ObjectStore } from '../../bucket/object-store.js';
import type { Logger } from '../../platform/logger.js';
import { SOURCE_TABLES, isSourceTable, type SourceTable } from '../../contracts/source-tables.js';
import { listStartAfter, parseChangeObjectKey, partitionInRange, tablePrefix } from '../../archive/archive-layout.js';
import type { ObjectScan } from './archived-line.js';
import type { ArchiveIssueKind, IssueLog } from '../replay-report.js';
import type { ScanPool } from './scan-pool.js';
import type { ArchivedReconciles } from '../order/archived-reconciles.js';

/**
 * Reads the archive into commit order with bounded memory.
 *
 * Ordering: the archive's file order means nothing (partitioned by arrival, objects may overlap,
 * a crash re-archives records into new objects). Every valid event gets the sort key
 * `<commitLsn:16 hex><position:14 hex><id>`, i.e. its event version then its id, and an external
 * merge sort over runs of at most `maxRunBytes` yields all events in global commit order, which
 * implies per-key version order and puts duplicates (same id ⇒ same version) next to each other, so
 * dedupe by event id needs no memory beyond the previous key.
 *
 * The key is compared as numbers (commitLsn, position) then the id (sorted-runs.ts), never as one
 * long string. Copies of one event (same key) are ordered by origin (object index in the listing,
 * line), so the first archived copy comes first whatever thread scanned it.
 *
 * Parse once: see archived-line.ts. Scan and sort run on worker threads (scan-pool.ts).
 */
export interface ArchiveSelection {
  from?: Date;
  to?: Date;
  tables?: readonly string[];
}

export interface ScanProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  eventsRead: number;
}

export interface ScanStats {
  files: number;
  compressedBytes: number;
  uncompressedBytes: number;
  lines: number;
  /**
   * Valid events read, duplicates included. Lines whose validation waits for the merge count from
   * the scan on and are taken off if they fail it: exact once the merge has finished.
   */
  eventsRead: number;
  /** Records that are not change events (watermarks, reconcile records): not sorted, not issues. */
  otherRecords: number;
  /** Reconcile record copies read (replay applies the distinct ones after the events). */
  reconcileRecords: number;
}

export interface ListedObject extends ObjectInfo {
  table: SourceTable;
}

/** Objects of the selection, table by table, in key order. Keys outside the layout are reported. */
export async function listArchive(ingestion: ObjectStore, selection: ArchiveSelection, issues: IssueLog): Promise<ListedObject[]> {
  const tables = selection.tables ?? SOURCE_TABLES;
  for (const table of tables) {
    if (!isSourceTable(table)) throw new RangeError(`not a captured table: ${table} (one of ${SOURCE_TABLES.join(', ')})`);
  }
  const objects: ListedObject[] = [];
  for (const table of tables as readonly SourceTable[]) {
    const prefix = tablePrefix(table);
    for await (const object of ingestion.list(prefix, { startAfter: listStartAfter(table, selection.from) })) {
      const partition = parseChangeObjectKey(object.key);
      if (!partition || partition.table !== table) {
        issues.add({ kind: 'unexpected-key', file: object.key, message: 'key is not in the archive layout changes/table=<t>/date=YYYY-MM-DD/hour=HH/<name>' });
        continue;
      }
      if (selection.to && partition.hourStartMs >= selection.to.getTime()) break; // keys sort by date, hour
      if (!partitionInRange(partition, selection.from, selection.to)) continue;
      objects.push({ ...object, table });
    }
  }
  return objects;
}

export interface ScanOptions {
  ingestion: ObjectStore;
  objects: readonly ListedObject[];
  pool: ScanPool;
  issues: IssueLog;
  logger: Logger;
  /** Objects fetched ahead of the one being scanned (S3 latency); default 4. */
  prefetch?: number;
  /** Objects handed to the pool and not yet reported; default 8. */
  inFlight?: number;
  onProgress?: (progress: ScanProgress) => void;
  /** Where the objects' reconcile records go (in listing order). */
  reconciles?: ArchivedReconciles;
}

/**
 * Reads every listed object into the pool's runs. Objects are scanned in parallel, but their
 * results (statistics, issues, progress) are taken in listing order, so the report reads as if one
 * thread had scanned them one by one. Never throws on bad input.
 */
export async function scanArchive(options: ScanOptions): Promise<ScanStats> {
  const { ingestion, objects, pool, issues } = options;
  const stats: ScanStats = { files: 0, compressedBytes: 0, uncompressedBytes: 0, lines: 0, eventsRead: 0, otherRecords: 0, reconcileRecords: 0 };
  const bytesTotal = objects.reduce((sum, o) => sum + o.size, 0);
  const prefetch = Math.max(1, options.prefetch ?? 4);
  const inFlight = Math.max(1, options.inFlight ?? 8);
  const fetches: Promise<Uint8Array | Error>[] = [];
  const fetch = (i: number) => {
    const object = objects[i];
    if (object) fetches[i] = ingestion.get(object.key).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  };
  for (let i = 0; i < prefetch; i++) fetch(i);

  type Outcome = { compressedBytes: number; scan: ObjectScan } | { unreadable: Error };
  const outcomes: Promise<Outcome>[] = [];
  let reported = 0;
  const report = async () => {
    const object = objects[reported]!;
    const outcome = await outcomes[reported]!;
    delete outcomes[reported];
    reported++;
    stats.files++;
    if ('unreadable' in outcome) {
      issues.add({ kind: 'unreadable-object', file: object.key, message: outcome.unreadable.message });
      return;
    }
    const { scan } = outcome;
    stats.compressedBytes += outcome.compressedBytes;
    stats.lines += scan.lines;
    stats.uncompressedBytes += scan.bytes;
    stats.eventsRead += scan.added;
    stats.otherRecords += scan.otherRecords;
    stats.reconcileRecords += scan.reconciles.length;
    options.reconciles?.add(scan.reconciles);
    for (const issue of scan.issues) issues.add(issue);
    for (const [kind, n] of Object.entries(scan.droppedIssues ?? {}) as [ArchiveIssueKind, number][]) issues.count(kind, n);
    options.onProgress?.({ filesDone: stats.files, filesTotal: objects.length, bytesDone: stats.compressedBytes, bytesTotal, eventsRead: stats.eventsRead });
  };

  try {
    for (let i = 0; i < objects.length; i++) {
      const body = await fetches[i]!;
      delete fetches[i];
      fetch(i + prefetch);
      if (body instanceof Error) outcomes[i] = Promise.resolve({ unreadable: body });
      else outcomes[i] = pool.scan(i, objects[i]!.key, body).then((scan) => ({ compressedBytes: body.byteLength, scan }));
      outcomes[i]!.catch(() => {}); // awaited in order by report(); a failure must not surface as unhandled meanwhile
      while (i + 1 - reported >= inFlight) await report();
    }
    while (reported < objects.length) await report();
  } finally {
    // Fetches still running after an error must not surface as unhandled rejections.
    for (const pending of fetches) void pending?.catch(() => {});
  }
  await pool.finish();
  return stats;
}
