import type { ObjectStore } from '../../bucket/object-store.js';
import { errorMessage, isRetryable, PipelineError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ArchiveIssueKind, IssueLog } from '../replay-report.js';
import { Lane } from './lane.js';
import type { LaneLines, LaneProgress, LaneResult } from './lane-protocol.js';
import type { LoadSink } from './load-sink.js';

/**
 * The processing lanes of a replay: where the merged lines go to be processed and loaded. Every
 * replay runs the same lane code (lane.ts); `InlineLanes` runs one lane on the calling thread,
 * `LanePool` (lane-pool.ts) one lane per worker thread, each with a key-partitioned share of the
 * lines (lane-route.ts).
 *
 * Why partitioning keeps the result identical to one lane:
 *  - each lane receives its lines in global commit order (a subsequence of the merge), so the
 *    events of every row key, which all go to one lane, keep their order;
 *  - copies of one event (same id ⇒ same table and key ⇒ same route) are adjacent in the merge; a
 *    line with FLAG_SAME_KEY follows the lane of the line before it, so a whole run of copies goes
 *    to one lane, stays adjacent there, and is deduped there exactly as on one lane (the first
 *    VALID copy is kept), whatever the copies' own routes say;
 *  - the joined source tables share join state in two independent groups
 *    (stream-processors/event-rows.ts): staff with department go to lane 0, counterparty with
 *    address to lane 1, each group in commit order, as on one lane; every other table's rows
 *    depend on its own event only, so it goes to lane hash(table + key text) % N;
 *  - the bulk load's result does not depend on how the lanes' loads interleave: facts are
 *    distinct events, a dimension key's versions all come from one lane in order, dim_date rows of
 *    a date are identical (loader/bulk-load.ts). `finish` runs once, after every lane is done.
 * Issues found by the lanes carry the line's position in the merge and are added to the report in
 * that order (addLaneIssues), so the report reads as if one lane had decoded the merge.
 *
 * Lifecycle: begin(files) → route(...)* → endProcessing() → drain() → close(). close() is safe at
 * any point; the first lane failure makes the other calls reject with a LaneError (a load failure
 * names its manifest) or, on the calling thread, with the error itself.
 */
export interface Lanes {
  readonly count: number;
  /** Hands the lanes the listing (object keys by index) the lines' origins refer to. */
  begin(files: readonly string[]): Promise<void>;
  /** Routes one merged piece; resolves when the piece may be reused. */
  route(piece: LaneLines): Promise<void>;
  /** Resolves once every lane has processed its last line (their loads may still run). */
  endProcessing(): Promise<void>;
  /** Resolves with every lane's result once their loads are done too. */
  drain(): Promise<LaneResult[]>;
  /** Every lane's figures so far, summed. */
  readonly progress: LaneProgress;
  /** Called when a lane reported progress. */
  onProgress: (() => void) | null;
  close(): Promise<void>;
}

/** A lane failed: its message, and the manifest whose load failed when that was the cause. */
export class LaneError extends PipelineError {
  constructor(
    message: string,
    readonly lane: number,
    readonly failedManifest: string | null,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface InlineLanesOptions {
  processed: ObjectStore;
  processedPrefix: string;
  batchSize: number;
  logger: Logger;
  /** Opens the lane's load sink when the lane starts (begin); the lanes own it. */
  openSink: () => LoadSink | Promise<LoadSink>;
}

/** One lane on the calling thread (no worker, no copies: it reads the merged pieces in place). */
export class InlineLanes implements Lanes {
  readonly count = 1;
  private lane: Lane | null = null;
  private seq = 0;
  progress: LaneProgress = { events: 0, duplicates: 0, invalid: 0, manifests: 0 };
  onProgress: (() => void) | null = null;

  constructor(private readonly options: InlineLanesOptions) {}

  async begin(files: readonly string[]): Promise<void> {
    const { openSink, ...rest } = this.options;
    this.lane = new Lane({
      ...rest,
      files,
      sink: await openSink(),
      onProgress: (progress) => {
        this.progress = progress;
        this.onProgress?.();
      },
    });
  }

  route(piece: LaneLines): Promise<void> {
    const seq = this.seq;
    this.seq += piece.count;
    return this.guard(this.lane!.accept(piece, seq));
  }

  endProcessing(): Promise<void> {
    return this.guard(this.lane!.endProcessing());
  }

  async drain(): Promise<LaneResult[]> {
    const result = await this.guard(this.lane!.drain());
    this.progress = result;
    return [result];
  }

  async close(): Promise<void> {
    await this.lane?.close();
  }

  /** As a lane on a worker reports it: a failure while a load failed is that load's LaneError. */
  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      await this.lane?.close(); // waits for the loads in flight, so a load that fails meanwhile is named
      const failedManifest = this.lane?.failedManifest ?? null;
      if (failedManifest === null) throw error;
      throw new LaneError(errorMessage(error), 0, failedManifest, { retryable: isRetryable(error), cause: error });
    }
  }
}

/**
 * Adds the lanes' issues to the archive's log in merge order (after the scan's), so the report is
 * the one a single thread would have written: the first issues verbatim, every count exact.
 */
export function addLaneIssues(log: IssueLog, results: readonly LaneResult[]): void {
  const kept = results.flatMap((result) => result.issues).sort((a, b) => a.seq - b.seq);
  const unkept: Partial<Record<ArchiveIssueKind, number>> = {};
  for (const result of results) {
    for (const [kind, n] of Object.entries(result.issueCounts) as [ArchiveIssueKind, number][]) unkept[kind] = (unkept[kind] ?? 0) + n;
  }
  for (const { seq: _seq, ...issue } of kept) {
    log.add(issue);
    unkept[issue.kind]! -= 1;
  }
  for (const [kind, n] of Object.entries(unkept) as [ArchiveIssueKind, number][]) if (n > 0) log.count(kind, n);
}
