import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../../bucket/object-store.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import type { Logger } from '../../platform/logger.js';
import { listArchive, scanArchive, type ArchiveSelection, type ListedObject, type ScanProgress, type ScanStats } from '../read/archive-reader.js';
import { MergedLineDecoder } from './merged-lines.js';
import { IssueLog } from '../replay-report.js';
import { InlineScanPool, WorkerScanPool, type ScanPool } from '../read/scan-pool.js';
import type { ArchiveReadLimits } from '../read/archived-line.js';
import type { MergedBatch } from './sorted-runs.js';
import { ArchivedReconciles } from './archived-reconciles.js';

/**
 * The archive of a selection as one stream of events in commit order, deduped by event id, with
 * bounded memory (see archive-reader.ts for the ordering argument). Two passes: `open` lists and
 * reads every object once (sort keys, spilling sorted runs to `tempDir`, reporting unreadable
 * objects and lines); `batches()` merges the runs, parses and validates each line once (reporting a
 * bad one with its file and line, exactly as the scan would have) and drops duplicates. Call
 * `close()` to stop the scan workers and remove the temp files (also safe after an error).
 *
 * Dedupe happens after validation: an invalid line never hides a valid duplicate (the first VALID
 * line of a key is kept, later valid ones are counted as duplicates), as when the scan validated.
 */
export interface OrderedArchiveOptions extends ArchiveSelection {
  ingestion: ObjectStore;
  logger: Logger;
  /** Where sorted runs are spilled (default: a new dir under os.tmpdir(), removed on close). */
  tempDir?: string;
  /**
   * Memory budget of the sort, in bytes of records (line + key + index) held at once by all scan
   * threads together (default 64 MiB). A selection that fits is never written to disk.
   */
  maxRunBytes?: number;
  /**
   * Worker threads for the scan (each gunzips, keys and sorts a share of the objects; one then
   * merges while this thread parses). 0 scans on this thread. Default: one per core (at most 4),
   * or 0 when the selection is under 4 MiB compressed (starting workers would cost more).
   */
  scanWorkers?: number;
  /** Line length and issues-per-object bounds of the scan (default DEFAULT_ARCHIVE_READ_LIMITS). */
  limits?: ArchiveReadLimits;
  issues?: IssueLog;
  onScanProgress?: (progress: ScanProgress) => void;
}

export interface OrderedArchive {
  readonly objects: readonly ListedObject[];
  readonly scan: ScanStats;
  readonly issues: IssueLog;
  /** The selection's reconcile records (deduplicated), read by the scan: replay applies them after the events, in version order. */
  readonly reconciles: ArchivedReconciles;
  /** Filled while `batches()` runs: runs merged, duplicates dropped. */
  readonly merge: MergeStats;
  /** Events in commit order, `batchSize` per batch (the last may be smaller). */
  batches(batchSize: number): AsyncGenerator<ChangeEvent[]>;
  /**
   * Instead of batches(): the merged lines themselves, unparsed (for the processing lanes,
   * replay/process/lanes.ts, which decode them and report back duplicates, invalid lines and
   * issues). Each piece is valid until the next is requested (its buffers are recycled).
   */
  pieces(): AsyncGenerator<MergedBatch>;
  /** Object keys by listing index (what a merged line's origin names). */
  readonly fileKeys: readonly string[];
  close(): Promise<void>;
}

export interface MergeStats {
  runs: number;
  spilledBytes: number;
  duplicates: number;
}

const DEFAULT_MAX_RUN_BYTES = 64 * 1024 * 1024;
/** Below this compressed size the scan stays on the calling thread (see scanWorkers). */
const INLINE_SCAN_BYTES = 4 * 1024 * 1024;
/** Lines per merged piece handed from the merge to the parser (and its byte target). */
const MERGE_LINES = 2048;
const MERGE_BYTES = 1 << 20;

export async function openOrderedArchive(options: OrderedArchiveOptions): Promise<OrderedArchive> {
  const issues = options.issues ?? new IssueLog();
  const ownTemp = !options.tempDir;
  const tempDir = options.tempDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-replay-')));
  await fs.mkdir(tempDir, { recursive: true });
  // The pool's own dir: removed on close whoever owns tempDir, even after a failed worker whose run
  // files were never reported.
  const runDir = await fs.mkdtemp(path.join(tempDir, 'runs-'));
  let pool: ScanPool | null = null;
  const close = async () => {
    await pool?.close();
    await fs.rm(ownTemp ? tempDir : runDir, { recursive: true, force: true });
  };
  try {
    const objects = await listArchive(options.ingestion, options, issues);
    const maxRunBytes = options.maxRunBytes ?? DEFAULT_MAX_RUN_BYTES;
    const compressedBytes = objects.reduce((sum, o) => sum + o.size, 0);
    const workers = options.scanWorkers ?? (compressedBytes < INLINE_SCAN_BYTES ? 0 : Math.min(4, os.availableParallelism()));
    pool = workers > 0 ? await WorkerScanPool.start({ tempDir: runDir, maxRunBytes, workers, limits: options.limits }) : new InlineScanPool({ tempDir: runDir, maxRunBytes, limits: options.limits });
    const reconciles = new ArchivedReconciles();
    const scan = await scanArchive({ ingestion: options.ingestion, objects, pool, issues, logger: options.logger, onProgress: options.onScanProgress, reconciles });
    const merge: MergeStats = { runs: 0, spilledBytes: pool.spilledBytes, duplicates: 0 };
    const scanned = pool;
    const fileKeys = objects.map((o) => o.key);
    // The decoder's running counts, folded into the archive's figures (an invalid line was counted as read).
    let folded = { duplicates: 0, invalid: 0 };
    const syncCounts = (decoder: MergedLineDecoder) => {
      merge.duplicates += decoder.duplicates - folded.duplicates;
      scan.eventsRead -= decoder.invalid - folded.invalid;
      folded = { duplicates: decoder.duplicates, invalid: decoder.invalid };
    };
    async function* pieces(): AsyncGenerator<MergedBatch> {
      const merged = scanned.merge(MERGE_LINES, MERGE_BYTES);
      try {
        for await (const piece of merged) {
          merge.runs = scanned.runs;
          yield piece;
        }
        merge.runs = scanned.runs;
      } finally {
        await merged.return(undefined);
      }
    }
    return {
      objects,
      scan,
      issues,
      reconciles,
      merge,
      async *batches(batchSize: number) {
        let batch: ChangeEvent[] = [];
        const decoder = new MergedLineDecoder(fileKeys, issues);
        for await (const piece of pieces()) {
          const text = Buffer.from(piece.text.buffer, piece.text.byteOffset, piece.text.byteLength);
          let start = 0;
          for (let i = 0; i < piece.count; i++) {
            const end = piece.lineEnds[i]!;
            const event = decoder.decode(text, start, end, piece.origins[i]!, piece.flags[i]!);
            start = end;
            if (!event) continue;
            batch.push(event);
            if (batch.length === batchSize) {
              syncCounts(decoder);
              yield batch;
              batch = [];
            }
          }
          syncCounts(decoder);
        }
        if (batch.length > 0) yield batch;
      },
      pieces,
      fileKeys,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
