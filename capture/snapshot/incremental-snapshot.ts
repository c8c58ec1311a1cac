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
import type { PersistedResnapshot, ResnapshotJobStore } from '../control/resnapshot-jobs.js';

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
 * unchanged rows is harmless, and a chunk read twice after a restart too.
 *
 * Durable (docs/capture-spec.md I4, I5): the job lives in the source (capture/control/resnapshot-jobs.ts,
 * a line of the publication's comment), written by the CLI with the request and by the capture
 * after each chunk once the chunk's events and reconcile record are durable in the stream. A
 * session that ends (stop, crash, restart, failover) leaves it `interrupted`; the next session,
 * in this process or another, loads it and resumes after the last completed chunk's key. A request
 * seen again in the WAL (a restart before the position after it was confirmed) is recognised by
 * its id and not run twice. A job that fails while its session goes on is retried from its last
 * completed chunk, up to MAX_ATTEMPTS times, then abandoned.
 */
export const RESNAPSHOT_PREFIX = 'totesys_cdc_resnapshot';
export const SNAPSHOT_WINDOW_PREFIX = 'totesys_cdc_snapshot_window';

export interface ResnapshotRequest {
  table: SourceTable;
  requestId: string;
  /** A job loaded from the store: where it had got to. */
  resume?: PersistedResnapshot;
}

/** Attempts of one job within a session before it is abandoned (a session that ends does not count). */
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 2_000;

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

/** What a failed save of a job's record logs. */
const NOT_RECORDED = {
  request: 'could not record the resnapshot request in the source',
  progress: 'could not record the resnapshot progress in the source',
  finished: 'could not record the finished resnapshot in the source',
} as const;

interface Job {
  id: string;
  progress: ResnapshotProgress;
  chunk: number;
  keyAfter: ReconcileKey | null;
  /** Keys of the table changed since this chunk's low watermark was seen; null outside the window. */
  window: Set<string> | null;
  pending: Chunk | null;
  attempts: number;
}

export class IncrementalSnapshots {
  private queue: ResnapshotRequest[] = [];
  private job: Job | null = null;
  private idleListener: (() => void) | null = null;
  /** Request ids finished (here or, per the store, by an earlier capture): a request seen again is not run twice. */
  private readonly done = new Set<string>();
  /** The store's jobs are being loaded: nothing starts before (a loaded job may be a queued request's progress). */
  private loading = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      source: ChunkSource;
      stats: CaptureStats;
      logger: Logger;
      reconcileShards?: ShardMap;
      chunkRows?: number;
      /** Where jobs and their progress persist (the source); without it a job lives in the session only. */
      jobs?: ResnapshotJobStore;
    },
  ) {
    if (o.jobs) {
      this.loading = true;
      void this.load(o.jobs);
    }
  }

  /** While a resnapshot runs (or the store's jobs are loading) the session does not stop at its stop LSN (a `sync` finishes it). */
  get busy(): boolean {
    return this.loading || this.job !== null || this.queue.length > 0 || this.retryTimer !== null;
  }

  /** Queues the store's unfinished jobs (a resumed one keeps its progress); remembers the finished ones. */
  private async load(jobs: ResnapshotJobStore): Promise<void> {
    try {
      for (const persisted of await jobs.load()) {
        if (persisted.state === 'done') {
          this.done.add(persisted.requestId);
          continue;
        }
        const queued = this.queue.find((r) => r.requestId === persisted.requestId);
        if (queued) queued.resume = persisted;
        else this.queue.push({ table: persisted.table, requestId: persisted.requestId, resume: persisted });
        this.o.logger.info('resnapshot resumes after the last completed chunk', { event: 'resnapshot-resumed', requestId: persisted.requestId, table: persisted.table, keyAfter: persisted.keyAfter, chunks: persisted.chunks });
      }
    } catch (error) {
      // The session fails on the same source soon enough; the next one loads them again.
      this.o.logger.warn('could not read the resnapshot jobs from the source; they resume in the next session', { error: errorMessage(error) });
    } finally {
      this.loading = false;
    }
    if (!this.closed && !this.job) this.startNext();
  }

  /**
   * Saves a job's record; saves run one after another, in the order asked, so a later progress is
   * never overwritten by an earlier one. A failed save is logged (`failed`), not thrown: an unrecorded
   * request or progress only means a chunk is read again after a restart.
   */
  private persist(record: PersistedResnapshot, failed: string): Promise<void> {
    const jobs = this.o.jobs;
    if (!jobs) return Promise.resolve();
    const saved = this.saving.then(() => jobs.save(record));
    this.saving = saved.catch(() => undefined);
    return saved.catch((error) => this.o.logger.warn(failed, { requestId: record.requestId, error: errorMessage(error) }));
  }

  /** The job's record as of now. */
  private recordOf(job: Job, state: PersistedResnapshot['state']): PersistedResnapshot {
    const { requestId, table, chunks, rowsRead, rowsPublished, startedAt } = job.progress;
    return { requestId, table, state, keyAfter: job.keyAfter, chunks, rowsRead, rowsPublished, startedAt };
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
    if (this.done.has(request.requestId) || this.job?.progress.requestId === request.requestId || this.queue.some((r) => r.requestId === request.requestId)) {
      this.o.logger.info('resnapshot request seen again (a restart re-read it): already done or under way', { requestId: request.requestId });
      return;
    }
    this.queue.push(request);
    this.o.logger.info('resnapshot requested: re-reading the table in chunks while streaming', { event: 'resnapshot-requested', ...request });
    if (this.loading) return; // started (and recorded) once the store's jobs are known
    if (this.job) {
      // Queued behind another job: recorded now (the CLI normally has), so a restart does not lose it.
      const queued: PersistedResnapshot = { ...request, state: 'running', keyAfter: null, chunks: 0, rowsRead: 0, rowsPublished: 0, startedAt: new Date().toISOString() };
      void this.persist(queued, NOT_RECORDED.request);
      return;
    }
    this.startNext();
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
    // I5: the chunk counts as completed (and is persisted as such) only once its reconcile is durable too.
    await publisher.flush();
    job.progress.chunks++;
    job.progress.rowsRead += chunk.rows.length;
    job.progress.rowsPublished += published;
    job.keyAfter = keyTo;
    job.attempts = 0;
    if (last) {
      await this.persist(this.recordOf(job, 'done'), NOT_RECORDED.finished);
      return this.finish(job);
    }
    // Recorded in the background (saves keep their order; the stream is not held for the ~0.1 s a save
    // takes); a progress not recorded (crash first, source briefly unreachable) only means this chunk
    // is read again after a restart. The last chunk's `done` is awaited above: `sync` may stop right after it.
    void this.persist(this.recordOf(job, 'running'), NOT_RECORDED.progress);
    job.chunk++;
    void this.readChunk(job);
  }

  private startNext(): void {
    if (this.closed) return;
    // A request queued while the store was loading may turn out to be finished already.
    this.queue = this.queue.filter((r) => !this.done.has(r.requestId));
    const request = this.queue.shift();
    if (!request) {
      this.idleListener?.();
      return;
    }
    const { table, requestId, resume } = request;
    const progress: ResnapshotProgress = resume
      ? { requestId, table, state: 'running', chunks: resume.chunks, rowsRead: resume.rowsRead, rowsPublished: resume.rowsPublished, startedAt: resume.startedAt, finishedAt: null, resumes: (this.resumesOf(requestId) ?? 0) + 1 }
      : { requestId, table, state: 'running', chunks: 0, rowsRead: 0, rowsPublished: 0, startedAt: new Date().toISOString(), finishedAt: null };
    this.o.stats.status.resnapshots = [...(this.o.stats.status.resnapshots ?? []).filter((p) => p.requestId !== requestId).slice(-9), progress];
    this.job = { id: randomBytes(6).toString('hex'), progress, chunk: 0, keyAfter: resume?.keyAfter ?? null, window: null, pending: null, attempts: 0 };
    const job = this.job;
    // A new request is recorded before its first chunk (the CLI has normally done so already).
    if (!resume) void this.persist(this.recordOf(job, 'running'), NOT_RECORDED.request);
    void this.readChunk(job);
  }

  private resumesOf(requestId: string): number | undefined {
    return this.o.stats.status.resnapshots?.find((p) => p.requestId === requestId)?.resumes;
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
    if (this.job !== job) return;
    job.progress.state = 'done';
    job.progress.finishedAt = new Date().toISOString();
    this.done.add(job.progress.requestId);
    this.o.logger.info('resnapshot done: the table was re-read and reconciled', { event: 'resnapshot-done', ...job.progress });
    this.job = null;
    this.startNext();
  }

  /**
   * A chunk failed while the session goes on (a read or a put failed): retried from the last
   * completed chunk under a new window id (the failed chunk's watermarks are then ignored), up to
   * MAX_ATTEMPTS times; then abandoned here. Its line stays in the source: a later session resumes it.
   */
  private abandon(job: Job, error: unknown): void {
    if (this.job !== job || this.closed) return;
    job.window = null;
    job.pending = null;
    job.attempts++;
    if (job.attempts < MAX_ATTEMPTS) {
      this.o.logger.warn('resnapshot chunk failed; retrying from the last completed chunk', { requestId: job.progress.requestId, attempt: job.attempts, error: errorMessage(error) });
      job.id = randomBytes(6).toString('hex');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.job === job && !this.closed) void this.readChunk(job);
      }, RETRY_DELAY_MS);
      return;
    }
    job.progress.state = 'abandoned';
    job.progress.error = errorMessage(error);
    job.progress.finishedAt = new Date().toISOString();
    this.o.logger.error('resnapshot abandoned after repeated failures; the next capture session resumes it, or request it again', { event: 'resnapshot-abandoned', ...job.progress });
    this.job = null;
    this.startNext();
  }

  /** The session ends: a running job is interrupted; it stays in the source, and the next session resumes it. */
  close(): void {
    this.closed = true;
    this.queue = [];
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const job = this.job;
    this.job = null;
    if (!job) return;
    job.progress.state = this.o.jobs ? 'interrupted' : 'abandoned';
    job.progress.error = 'the replication session ended';
    if (!this.o.jobs) job.progress.finishedAt = new Date().toISOString();
    this.o.logger.warn(this.o.jobs ? 'resnapshot interrupted: it resumes after its last completed chunk when the capture streams again' : 'resnapshot abandoned with its session; request it again', {
      event: this.o.jobs ? 'resnapshot-interrupted' : 'resnapshot-abandoned',
      ...job.progress,
    });
  }
}

/** The CLI's request: a logical message every capture streaming the slot sees in WAL order. */
export function resnapshotRequestContent(table: SourceTable, requestId: string): string {
  return JSON.stringify({ table, requestId });
}
