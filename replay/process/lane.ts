import type { ObjectStore } from '../../bucket/object-store.js';
import type { ChangeEvent } from '../../contracts/change-event.js';
import type { ManifestFile } from '../../contracts/manifest.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import type { Logger } from '../../platform/logger.js';
import { manifestKey } from '../../stream-processors/batch-keys.js';
import { processEvents } from '../../stream-processors/process-batch.js';
import { MemoryJoinStateStore } from '../../stream-processors/state/memory-join-state-store.js';
import { MergedLineDecoder } from '../order/merged-lines.js';
import type { ArchiveIssueKind } from '../replay-report.js';
import { MAX_LANE_ISSUES, type LaneIssue, type LaneLines, type LaneProgress, type LaneResult } from './lane-protocol.js';
import type { LoadSink } from './load-sink.js';

/**
 * One processing lane: the whole of steps 2 and 3 for its share of the merged archive, on whatever
 * thread runs it (lanes.ts: the calling thread for one lane, a worker thread each for more). It
 * decodes the lines it is given, in the order given (parse, validate, dedupe: merged-lines.ts),
 * processes them `batchSize` at a time through the SAME processor as the live stream
 * (processEvents) with a FRESH join state of its own in memory (a replay starts from empty state
 * and is never resumed), and hands each manifest to its load sink (load-sink.ts) while it goes on.
 *
 * Issues carry the line's position in the merge (`seq`), so the lanes' issues can be put back in
 * merge order (lanes.ts addLaneIssues); the first MAX_LANE_ISSUES are kept, the counts are exact.
 */
export interface LaneOptions {
  /** Object keys by listing index (what a line's origin names). */
  files: readonly string[];
  processed: ObjectStore;
  processedPrefix: string;
  batchSize: number;
  logger: Logger;
  sink: LoadSink;
  /** After each processed batch. */
  onProgress?: (progress: LaneProgress) => void;
}

export class Lane {
  private readonly state = new MemoryJoinStateStore();
  private readonly decoder: MergedLineDecoder;
  private readonly issues: LaneIssue[] = [];
  private readonly issueCounts: Partial<Record<ArchiveIssueKind, number>> = {};
  private issueTotal = 0;
  private seq = 0;
  private events: ChangeEvent[] = [];
  private readonly progress: LaneProgress = { events: 0, duplicates: 0, invalid: 0, manifests: 0 };
  private closing: Promise<void> | null = null;

  constructor(private readonly options: LaneOptions) {
    this.decoder = new MergedLineDecoder(options.files, {
      add: (issue) => {
        this.issueTotal++;
        this.issueCounts[issue.kind] = (this.issueCounts[issue.kind] ?? 0) + 1;
        if (this.issues.length < MAX_LANE_ISSUES) this.issues.push({ ...issue, seq: this.seq });
      },
    });
  }

  /**
   * Decodes and processes `lines`; `seqs` is each line's position in the merge, or the position of
   * the first when they are consecutive. Resolves when the lines may be reused.
   */
  async accept(lines: LaneLines, seqs: Float64Array | number): Promise<void> {
    const text = Buffer.from(lines.text.buffer, lines.text.byteOffset, lines.text.byteLength);
    const { batchSize } = this.options;
    let start = 0;
    for (let i = 0; i < lines.count; i++) {
      const end = lines.lineEnds[i]!;
      this.seq = typeof seqs === 'number' ? seqs + i : seqs[i]!;
      const event = this.decoder.decode(text, start, end, lines.origins[i]!, lines.flags[i]!);
      start = end;
      if (!event) continue;
      this.events.push(event);
      if (this.events.length === batchSize) await this.processBatch();
    }
  }

  /** Processes what is left (processing is then over; the sink may still be loading). */
  async endProcessing(): Promise<void> {
    if (this.events.length > 0) await this.processBatch();
  }

  /** Waits for the sink's loads; the lane's figures. */
  async drain(): Promise<LaneResult> {
    const sunk = await this.options.sink.drain();
    return {
      events: this.progress.events,
      manifests: this.progress.manifests,
      duplicates: this.decoder.duplicates,
      invalid: this.decoder.invalid,
      rowsLoaded: sunk.rowsLoaded,
      manifestsLoaded: sunk.manifestsLoaded,
      loadFailures: sunk.loadFailures,
      loaded: sunk.loaded,
      issues: this.issues,
      issueTotal: this.issueTotal,
      issueCounts: this.issueCounts,
    };
  }

  /** The manifest whose load failed the lane, if any. */
  get failedManifest(): string | null {
    return this.options.sink.failedManifest;
  }

  /** Releases the join state and the sink; safe at any point and more than once, never throws. */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.state.close().catch(() => {}), this.options.sink.close()]).then(() => {});
    return this.closing;
  }

  private async processBatch(): Promise<void> {
    const { options } = this;
    const events = this.events;
    this.events = [];
    const fileRows = new Map<string, readonly WarehouseRow[]>();
    const onFileRows = (file: ManifestFile, rows: readonly WarehouseRow[]) => void fileRows.set(file.key, rows);
    const manifest = await processEvents(events, { state: this.state, processed: options.processed, logger: options.logger, prefix: options.processedPrefix, onFileRows });
    this.progress.events += events.length;
    if (manifest) {
      this.progress.manifests++;
      await options.sink.add(manifestKey(options.processedPrefix, manifest.createdAt, manifest.batchId), manifest, (file) => fileRows.get(file.key));
    }
    this.progress.duplicates = this.decoder.duplicates;
    this.progress.invalid = this.decoder.invalid;
    options.onProgress?.({ ...this.progress });
  }
}
