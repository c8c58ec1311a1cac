import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../bucket/object-store.js';
import type { ChangeEvent } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import { listArchive, scanArchive, type ArchiveSelection, type ListedObject, type ScanProgress, type ScanStats } from './archive-reader.js';
import { IssueLog } from './replay-report.js';
import { SortedRuns, type MergeStats } from './sorted-runs.js';

/**
 * The archive of a selection as one stream of events in commit order, deduped by event id, with
 * bounded memory (see archive-reader.ts for the ordering argument). Two passes: `open` lists and
 * reads every object once (validating, reporting bad input, spilling sorted runs to `tempDir`);
 * `batches()` merges the runs. Call `close()` to remove the temp files.
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
        for await (const entries of runs.merge(batchSize)) {
          // Lines were validated in the scan; parse again instead of keeping objects in the runs.
          yield entries.map((entry) => JSON.parse(entry.line) as ChangeEvent);
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
