import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../bucket/object-store.js';
import type { ChangeEvent } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import { listArchive, originOf, parseArchivedLine, scanArchive, type ArchiveSelection, type ListedObject, type ScanProgress, type ScanStats } from './archive-reader.js';
import { IssueLog } from './replay-report.js';
import { SortedRuns, type MergeStats } from './sorted-runs.js';

/**
 * The archive of a selection as one stream of events in commit order, deduped by event id, with
 * bounded memory (see archive-reader.ts for the ordering argument). Two passes: `open` lists and
 * reads every object once (sort keys, spilling sorted runs to `tempDir`, reporting unreadable
 * objects and lines); `batches()` merges the runs, parses and validates each line once (reporting a
 * bad one with its file and line, exactly as the scan would have) and drops duplicates. Call
 * `close()` to remove the temp files.
 *
 * Dedupe happens after validation: an invalid line never hides a valid duplicate (the first VALID
 * line of a key is kept, later valid ones are counted as duplicates), as when the scan validated.
 */
export interface OrderedArchiveOptions extends ArchiveSelection {
  ingestion: ObjectStore;
  logger: Logger;
  /** Where sorted runs are spilled (default: a new dir under os.tmpdir(), removed on close). */
  tempDir?: string;
  /** Memory budget of one in-memory run, estimated (default 64 MiB). */
  maxRunBytes?: number;
  issues?: IssueLog;
  onScanProgress?: (progress: ScanProgress) => void;
}

export interface OrderedArchive {
  readonly objects: readonly ListedObject[];
  readonly scan: ScanStats;
  readonly issues: IssueLog;
  /** Filled while `batches()` runs: runs merged, duplicates dropped. */
  readonly merge: MergeStats;
  /** Events in commit order, `batchSize` per batch (the last may be smaller). */
  batches(batchSize: number): AsyncGenerator<ChangeEvent[]>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_RUN_BYTES = 64 * 1024 * 1024;

export async function openOrderedArchive(options: OrderedArchiveOptions): Promise<OrderedArchive> {
  const issues = options.issues ?? new IssueLog();
  const ownTemp = !options.tempDir;
  const tempDir = options.tempDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'totesys-cdc-replay-')));
  await fs.mkdir(tempDir, { recursive: true });
  const close = async () => {
    if (ownTemp) await fs.rm(tempDir, { recursive: true, force: true });
  };
  try {
    const objects = await listArchive(options.ingestion, options, issues);
    const runs = new SortedRuns({ tempDir, maxRunBytes: options.maxRunBytes ?? DEFAULT_MAX_RUN_BYTES });
    const scan = await scanArchive({ ingestion: options.ingestion, objects, runs, issues, logger: options.logger, onProgress: options.onScanProgress });
    return {
      objects,
      scan,
      issues,
      merge: runs.stats,
      async *batches(batchSize: number) {
        let previousKey: string | null = null;
        let batch: ChangeEvent[] = [];
        for await (const entries of runs.merge(batchSize, { dedupe: false })) {
          for (const entry of entries) {
            const { objectIndex, line } = originOf(entry.origin);
            const parsed = parseArchivedLine(entry.line, objects[objectIndex]!.key, line, issues);
            if (!parsed) {
              scan.eventsRead--;
              continue;
            }
            if (parsed.sortKey !== entry.key) {
              // lineSortKey's contract broken: the line was sorted into the wrong place.
              throw new Error(`internal error: sort key of ${objects[objectIndex]!.key} line ${line} read from its text differs from its parsed key`);
            }
            if (entry.key === previousKey) {
              runs.stats.duplicates++;
              continue;
            }
            previousKey = entry.key;
            batch.push(parsed.event);
            if (batch.length === batchSize) {
              yield batch;
              batch = [];
            }
          }
        }
        if (batch.length > 0) yield batch;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
