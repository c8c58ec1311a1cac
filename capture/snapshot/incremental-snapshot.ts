import { randomBytes } from 'node:crypto';
import { serializeChangeEvent, partitionKeyOf, SNAPSHOT_SEQ } from '../../contracts/change-event.js';
import { formatLsn, type Lsn } from '../../contracts/lsn.js';
import { isSourceTable, PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';
import type { ReconcileKey } from '../../contracts/reconcile.js';
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { EventPublisher } from '../publish/event-publisher.js';
import { enqueueReconcile } from '../publish/reconcile-publish.js';
import type { ShardMap } from '../publish/watermark-shard-map.js';
import type { CaptureStats, ResnapshotProgress } from '../reporting/capture-status.js';
import { snapshotEvent } from './initial-snapshot.js';

/**
 * `resnapshot --table <t>`: re-reads one table in chunks while the stream goes on, without pausing
 * or reordering it (the DBLog watermark algorithm, Debezium's incremental snapshots).
 *
 * The request is a logical message in the source's WAL (prefix RESNAPSHOT_PREFIX, written by the
 * CLI), so whatever capture streams the slot (up's child, the Fargate task) sees it in order. Per
 * chunk of keys, in key order:
 *  1. a low watermark message L is written (control connection);
 *  2. the chunk is read: the next `chunkRows` rows after the previous chunk's last key;
 *  3. a high watermark message H is written.
 * The session sees L, then the stream's changes, then H. Every key of the table changed between L
 * and H is dropped from the chunk: the stream carries a value at least as new (the read happened
 * between L and H). At H the rest is published as `r` events at version (H, −1), after every change
 * before H and before every change after it, so per key the order stays the WAL's; then a reconcile
 * record (contracts/reconcile.ts) for the chunk's range at the same version, whose keys are the
 * chunk's plus the window's (a key changed in the window exists or has its own delete), so rows the
 * warehouse has but the source lost without a delete event get their `d` version. Reading resumes
 * once both are enqueued (the publisher is flushed before the reconcile, R3).
 * An `r` equal to the warehouse's current version adds nothing (docs/guarantees.md): re-reading
 * unchanged rows is harmless, and a chunk read twice after a restart too. The job lives in the
 * session's memory: a capture restart abandons it (status says so), and the request is made again.
 */
export const RESNAPSHOT_PREFIX = 'totesys_cdc_resnapshot';
export const SNAPSHOT_WINDOW_PREFIX = 'totesys_cdc_snapshot_window';

export interface ResnapshotRequest {
  table: SourceTable;
  requestId: string;
}

/** What a resnapshot needs from the source, beside the stream (the capture's control connection). */
export interface ChunkSource {
  /** A non-transactional logical message (pg_logical_emit_message(false, prefix, content)). */
  emit(prefix: string, content: string): Promise<void>;
  /** Up to `limit` rows after `keyAfter` (null: from the first) in key order, every column as text. */
  readChunk(table: SourceTable, keyAfter: ReconcileKey | null, limit: number): Promise<Chunk>;
}

export interface Chunk {
  columns: { attname: string; atttypid: number }[];
  rows: (string | null)[][];
  /** now() at the read: the commit time of the chunk's `r` events. */
  readAt: string;
}

interface Job {
  id: string;
  progress: ResnapshotProgress;
  chunk: number;
  keyAfter: ReconcileKey | null;
  /** Keys of the table changed since this chunk's low watermark was seen; null outside the window. */
  window: Set<string> | null;
  pending: Chunk | null;
}

export class IncrementalSnapshots {
  private queue: ResnapshotRequest[] = [];
  private job: Job | null = null;
  private idleListener: (() => void) | null = null;

  constructor(
    private readonly o: {
      source: ChunkSource;
      stats: CaptureStats;
      logger: Logger;
      reconcileShards?: ShardMap;
      chunkRows?: number;
    },
  ) {}

  /** While a resnapshot runs the session does not stop at its stop LSN (a `sync` finishes it). */
  get busy(): boolean {
    return this.job !== null || this.queue.length > 0;
  }

  onIdle(listener: () => void): void {
    this.idleListener = listener;
  }

  /** A request message seen in the stream. */
  requested(content: string): void {
    let request: ResnapshotRequest;
    try {
      const parsed = JSON.parse(content) as { table?: unknown; requestId?: unknown };
      if (typeof parsed.table !== 'string' || !isSourceTable(parsed.table)) throw new Error(`not a captured table: ${String(parsed.table)}`);
      request = { table: parsed.table, requestId: typeof parsed.requestId === 'string' ? parsed.requestId : randomBytes(6).toString('hex') };
    } catch (error) {
      this.o.logger.warn('resnapshot request ignored', { error: errorMessage(error) });
      return;
    }
    this.queue.push(request);
    this.o.logger.info('resnapshot requested: re-reading the table in chunks while streaming', { event: 'resnapshot-requested', ...request });
    if (!this.job) this.startNext();
  }

  /** A change event of the stream (its partition key `<table>:<pk>`): inside a window it drops that key from the chunk. */
  changeSeen(partitionKey: string): void {
    const job = this.job;
    if (!job?.window) return;
    const prefix = `${job.progress.table}:`;
    if (partitionKey.startsWith(prefix)) job.window.add(partitionKey.slice(prefix.length));
  }

  /**
   * A window message seen in the stream. At the high watermark it returns the work to do before
   * the stream is read on (publish the chunk, then its reconcile); otherwise undefined.
   */
  windowMark(content: string, lsn: Lsn, publisher: EventPublisher): Promise<void> | undefined {
    const [kind, id, chunkText] = content.split(':');
    const job = this.job;
    if (!job || id !== job.id || Number(chunkText) !== job.chunk) return undefined; // another session's or an abandoned job's
    if (kind === 'low') {
      job.window = new Set();
      return undefined;
    }
    if (kind !== 'high' || !job.pending) return undefined;
    const window = job.window ?? new Set<string>();
    const chunk = job.pending;
    job.window = null;
    job.pending = null;
    return this.publishChunk(job, chunk, window, formatLsn(lsn), publisher).catch((error) => this.abandon(job, error));
  }

  private async publishChunk(job: Job, chunk: Chunk, window: Set<string>, highLsn: string, publisher: EventPublisher): Promise<void> {
    const table = job.progress.table;
    const keyColumn = PRIMARY_KEYS[table];
    const keyIndex = chunk.columns.findIndex((c) => c.attname === keyColumn);
    const events = chunk.rows.map((values) => snapshotEvent(table, chunk.columns, values, keyIndex, highLsn, chunk.readAt));
    const keys: ReconcileKey[] = events.map((e) => e.key[keyColumn] as ReconcileKey);
    let published = 0;
    for (const event of events) {
      if (window.has(String(event.key[keyColumn]))) continue; // the stream has a newer value
      const room = publisher.enqueueSerialized(event.id, partitionKeyOf(event), serializeChangeEvent(event));
      published++;
      if (room) await room;
    }
    // R3: every event before H durable before the reconcile's copies are put.
    await publisher.flush();
    const last = chunk.rows.length < (this.o.chunkRows ?? 1000);
    const keyTo = last ? null : keys[keys.length - 1];
    const windowKeys = [...window].map((k): ReconcileKey => (/^-?\d{1,15}$/.test(k) ? Number(k) : k));
    await enqueueReconcile(publisher, this.o.reconcileShards, {
      id: `resnapshot/${table}/${highLsn}/${job.chunk}`,
      table,
      lsn: highLsn,
      seq: SNAPSHOT_SEQ,
      commitTs: chunk.readAt,
      reason: 'resnapshot',
      keyAfter: job.keyAfter,
      keyTo,
      keys: [...keys, ...windowKeys],
    });
    job.progress.chunks++;
    job.progress.rowsRead += chunk.rows.length;
    job.progress.rowsPublished += published;
    if (last) return this.finish(job);
    job.chunk++;
    job.keyAfter = keyTo;
    void this.readChunk(job);
  }

  private startNext(): void {
    const request = this.queue.shift();
    if (!request) {
      this.idleListener?.();
      return;
    }
    const progress: ResnapshotProgress = { ...request, state: 'running', chunks: 0, rowsRead: 0, rowsPublished: 0, startedAt: new Date().toISOString(), finishedAt: null };
    this.o.stats.status.resnapshots = [...(this.o.stats.status.resnapshots ?? []).filter((p) => p.requestId !== request.requestId).slice(-9), progress];
    this.job = { id: randomBytes(6).toString('hex'), progress, chunk: 0, keyAfter: null, window: null, pending: null };
    void this.readChunk(this.job);
  }

  /** Low watermark, read, high watermark: the stream then brings the window to the session. */
  private async readChunk(job: Job): Promise<void> {
    try {
      await this.o.source.emit(SNAPSHOT_WINDOW_PREFIX, `low:${job.id}:${job.chunk}`);
      job.pending = await this.o.source.readChunk(job.progress.table, job.keyAfter, this.o.chunkRows ?? 1000);
      await this.o.source.emit(SNAPSHOT_WINDOW_PREFIX, `high:${job.id}:${job.chunk}`);
    } catch (error) {
      this.abandon(job, error);
    }
  }

  private finish(job: Job): void {
    job.progress.state = 'done';
    job.progress.finishedAt = new Date().toISOString();
    this.o.logger.info('resnapshot done: the table was re-read and reconciled', { event: 'resnapshot-done', ...job.progress });
    this.job = null;
    this.startNext();
  }

  private abandon(job: Job, error: unknown): void {
    if (this.job !== job) return;
    job.progress.state = 'abandoned';
    job.progress.error = errorMessage(error);
    job.progress.finishedAt = new Date().toISOString();
    this.o.logger.error('resnapshot abandoned; request it again', { event: 'resnapshot-abandoned', ...job.progress });
    this.job = null;
    this.startNext();
  }

  /** The session ends: a running job is abandoned (the next session starts none by itself). */
  close(): void {
    this.queue = [];
    if (this.job) this.abandon(this.job, new Error('the replication session ended'));
  }
}

/** The CLI's request: a logical message every capture streaming the slot sees in WAL order. */
export function resnapshotRequestContent(table: SourceTable, requestId: string): string {
  return JSON.stringify({ table, requestId });
}
