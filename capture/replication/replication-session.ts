import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { formatLsn, parseLsn, type Lsn } from '../../contracts/lsn.js';
import type { ChangeStreamWriter } from '../../stream/change-stream.js';
import type { CaptureStats } from '../reporting/capture-status.js';
import { EventPublisher, type EventPublisherOptions } from '../publish/event-publisher.js';
import { PgoutputDecoder, type PgoutputMessageLike } from './pgoutput-decoder.js';
import type { ReplicationStream } from './replication-stream.js';
import { SessionPositions } from './session-positions.js';
import { HEARTBEAT_PREFIX } from '../control/heartbeat.js';
import type { WatermarkPublisher } from '../publish/watermark-publisher.js';
import type { ShardMap } from '../publish/watermark-shard-map.js';
import { enqueueReconcile, truncateReconcileId } from '../publish/reconcile-publish.js';
import { isSourceTable } from '../../contracts/source-tables.js';
import { RESNAPSHOT_PREFIX, SNAPSHOT_WINDOW_PREFIX, type IncrementalSnapshots } from '../snapshot/incremental-snapshot.js';

/**
 * One streaming connection to the slot, from connect to end. The caller (run-capture.ts) loops over
 * sessions with backoff; every session starts again from the slot's confirmed position.
 *
 * Confirming (docs/capture-spec.md, D1): the LSN sent as "flushed" is always the AckTracker's
 * confirmable position, i.e. a flush position all of whose preceding events the stream has
 * accepted. Three kinds of milestones feed the tracker:
 *   a. Commit: the commit record's end LSN (every change of the transaction registered before it).
 *   b. A non-transactional logical message (our heartbeat) seen outside a transaction: its LSN.
 *   c. A keepalive while idle (every received message handled, no open transaction): its WAL end.
 * The session sends its own status every statusIntervalMs (the library's is off, see the adapter).
 *
 * Backpressure: messages are handled synchronously as they arrive, in WAL order. When the publisher
 * reports that the in-flight bound is reached, the session stops reading the socket and parks the
 * messages already received (at most the rest of the socket chunk being parsed) until there is
 * room again; then it handles them in order and resumes reading. The library's flowControl did the
 * same with a promise and a socket pause/resume per message batch, even when the sink had room,
 * which cost a third of the capture's CPU time and stalled the walsender between chunks.
 */
export interface SessionOptions {
  /** The replication port, on the slot to stream (pg-logical-replication-stream.ts in production). */
  stream: ReplicationStream;
  writer: ChangeStreamWriter;
  logger: Logger;
  stats: CaptureStats;
  /** Flush position the previous session reached: transactions committed before it are skipped. */
  resumeFrom: Lsn;
  stopAtLsn?: Lsn;
  /**
   * Transactions whose commit record is at or after this LSN are not published (their commits
   * still count as milestones, but the position confirmed to Postgres never passes this LSN: the
   * slot must still hold them if the session has to run again). The bridge slot
   * (snapshot/bridge.ts) stops where the new slot's snapshot begins: the new slot streams those.
   */
  skipFromLsn?: Lsn;
  publisher?: Partial<EventPublisherOptions>;
  statusIntervalMs?: number;
  onConfirmed?: (lsn: Lsn) => void;
  /** START_REPLICATION succeeded (the capture slot's session moves the lifecycle to streaming). */
  onStarted?: () => void;
  /** The session began to stop (a stop request, or its stop LSN). */
  onStopping?: (reason: 'stopped' | 'stop-lsn-reached') => void;
  /** Heartbeats → watermark records on every shard (the capture slot's session only, never the bridge). */
  watermarks?: WatermarkPublisher;
  /** Where a TRUNCATE's reconcile records go (every open shard); without it one copy (publish/reconcile-publish.ts). */
  reconcileShards?: ShardMap;
  /** `resnapshot --table` requests and their watermark windows (the capture slot's session only). */
  resnapshots?: IncrementalSnapshots;
}

export type SessionEnd = { reason: 'stopped' | 'stop-lsn-reached'; confirmed: Lsn } | { reason: 'error'; error: unknown; confirmed: Lsn };

export class ReplicationSession {
  private readonly stream: ReplicationStream;
  private readonly decoder = new PgoutputDecoder();
  private readonly positions: SessionPositions;
  private readonly publisher: EventPublisher;
  private receivedCount = 0;
  private handledCount = 0;
  /** Messages received while waiting for room in the publisher: lsn, message, lsn, message, ... */
  private parked: (string | PgoutputMessageLike)[] = [];
  private parkedHead = 0;
  private waitingForRoom = false;
  private skipTransaction = false;
  private lastSentFlush: Lsn;
  private stopping = false;
  private stopReason: 'stopped' | 'stop-lsn-reached' = 'stopped';
  private error: unknown = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private started = false;
  private warnedTables = new Set<string>();
  private stopPromise: Promise<void> | null = null;

  constructor(private readonly o: SessionOptions) {
    this.positions = new SessionPositions({ resumeFrom: o.resumeFrom, skipFromLsn: o.skipFromLsn, stopAtLsn: o.stopAtLsn });
    this.lastSentFlush = o.resumeFrom;
    this.stream = o.stream;
    o.resnapshots?.onIdle(() => this.confirm());
    this.publisher = new EventPublisher({
      writer: o.writer,
      tracker: this.positions.tracker,
      logger: o.logger,
      ...o.publisher,
      onDurable: (records, latencyMs, otherRecords) => o.stats.published(records, latencyMs, otherRecords),
      onProgress: () => this.confirm(),
    });
  }

  get confirmed(): Lsn {
    return this.positions.flushable();
  }

  /** Whether START_REPLICATION succeeded (the caller resets its backoff). */
  get hasStarted(): boolean {
    return this.started;
  }

  /** XLogData messages received so far (handled or parked). */
  get receivedMessages(): number {
    return this.receivedCount;
  }

  /** Streams until stop(), the stop LSN, or an error. Never throws: the end says why. */
  async run(): Promise<SessionEnd> {
    // Stopped before it ran (a stop request while the caller was still preparing): nothing would
    // ever end the stream once it started.
    if (this.stopping) return { reason: this.stopReason, confirmed: this.positions.flushable() };
    try {
      // 0n: the server starts at the slot's confirmed_flush_lsn (D5). Never pass a received-but-not-
      // durable LSN here: the server would skip every transaction committed before it.
      await this.stream.start(0n, {
        onStarted: () => this.onStarted(),
        onMessage: (lsn, message) => this.onData(lsn, message),
        onKeepalive: (walEnd, shouldRespond) => this.onKeepalive(walEnd, shouldRespond),
        onError: (error) => this.fail(error),
      });
      if (!this.stopping && !this.error) this.error = new Error('replication stream ended unexpectedly');
    } catch (error) {
      if (!this.stopping && !this.error) this.error = error;
    }
    if (this.stopPromise) await this.stopPromise;
    await this.teardown();
    const confirmed = this.positions.flushable();
    return this.error ? { reason: 'error', error: this.error, confirmed } : { reason: this.stopReason, confirmed };
  }

  /** Graceful stop (T1): stop reading, publish what is queued, confirm what is durable, disconnect. */
  stop(): Promise<void> {
    return this.requestStop('stopped');
  }

  private onStarted(): void {
    this.started = true;
    this.o.onStarted?.();
    this.sendStatus();
    this.statusTimer = setInterval(() => this.sendStatus(), this.o.statusIntervalMs ?? 5_000);
    if (this.positions.stopReached()) void this.requestStop('stop-lsn-reached');
  }

  private requestStop(reason: 'stopped' | 'stop-lsn-reached'): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopping = true;
    this.stopReason = reason;
    this.o.onStopping?.(reason);
    this.stopPromise = (async () => {
      this.o.logger.debug('session stopping', { reason, waitingForRoom: this.waitingForRoom, parked: (this.parked.length - this.parkedHead) / 2 });
      try {
        await this.publisher.flush();
      } catch (error) {
        this.fail(error);
      }
      this.confirm();
      this.sendStatus();
      this.o.logger.debug('session stopping: published, disconnecting', { confirmed: formatLsn(this.positions.flushable()) });
      // Let the status message reach the socket before the connection is closed.
      await new Promise((r) => setImmediate(r));
      await this.stream.stop().catch(() => undefined);
      this.o.logger.debug('session stopping: disconnected');
    })();
    return this.stopPromise;
  }

  private onData(lsn: string, message: PgoutputMessageLike): void {
    this.receivedCount++;
    if (this.waitingForRoom) {
      this.parked.push(lsn, message);
      return;
    }
    this.handle(lsn, message);
  }

  /** Handles parked messages in order until the publisher is full again; then reads on. */
  private drainParked(): void {
    while (!this.waitingForRoom && this.parkedHead < this.parked.length) {
      const lsn = this.parked[this.parkedHead] as string;
      const message = this.parked[this.parkedHead + 1] as PgoutputMessageLike;
      this.parked[this.parkedHead] = this.parked[this.parkedHead + 1] = '';
      this.parkedHead += 2;
      this.handle(lsn, message);
    }
    if (this.waitingForRoom) return;
    this.parked = [];
    this.parkedHead = 0;
    this.setReading(true);
  }

  private waitForRoom(room: Promise<void>): void {
    this.waitingForRoom = true;
    this.setReading(false);
    room.then(
      () => {
        this.waitingForRoom = false;
        this.drainParked();
      },
      (error) => {
        this.fail(error);
        this.parked = [];
        this.parkedHead = 0;
      },
    );
  }

  /** While paused, Postgres keeps the rest of the WAL: the walsender blocks once the socket buffers fill. */
  private setReading(reading: boolean): void {
    if (reading) this.stream.resume();
    else this.stream.pause();
  }

  private handle(lsn: string, message: PgoutputMessageLike): void {
    try {
      if (this.stopping || this.error) return;
      this.o.stats.status.lastReceivedLsn = lsn;
      if (message.tag === 'begin') {
        // D4: a transaction that committed before the position the previous session made durable
        // was published already; S3: the bridge leaves those at or after the new snapshot's start.
        this.skipTransaction = !this.positions.publishes(message.commitLsn === null ? null : parseLsn(message.commitLsn));
      }
      const result = this.decoder.decode(lsn, message);
      switch (result.kind) {
        case 'event': {
          if (this.skipTransaction) break;
          // D3: enqueued in WAL order; the publisher keeps that order per key.
          const { id, partitionKey, json } = result.event;
          this.o.resnapshots?.changeSeen(partitionKey);
          const room = this.publisher.enqueueSerialized(id, partitionKey, json);
          if (room) this.waitForRoom(room);
          break;
        }
        case 'commit':
          this.skipTransaction = false;
          this.positions.milestone(result.commitEndLsn);
          this.confirm();
          break;
        case 'message':
          if (!result.transactional && this.o.resnapshots && !this.skipTransaction) {
            if (result.prefix === RESNAPSHOT_PREFIX) this.o.resnapshots.requested(result.content);
            else if (result.prefix === SNAPSHOT_WINDOW_PREFIX) {
              // The high watermark: the chunk goes out before anything after it is read (DBLog).
              const work = this.o.resnapshots.windowMark(result.content, result.messageLsn, this.publisher);
              if (work) this.waitForRoom(work);
            }
          }
          if (!result.transactional && !this.decoder.inTransaction) {
            this.o.logger.debug('message milestone', { lsn: formatLsn(result.messageLsn), prefix: result.prefix });
            if (result.prefix === HEARTBEAT_PREFIX) this.o.watermarks?.heartbeatSeen(result.content, result.messageLsn);
            this.positions.milestone(result.messageLsn);
            this.confirm();
          }
          break;
        case 'truncate':
          if (this.skipTransaction) break;
          this.reconcileTruncate(lsn, result);
          break;
        case 'ignored-table':
          if (!this.warnedTables.has(result.table)) {
            this.warnedTables.add(result.table);
            this.o.logger.warn('change of a table that is not a totesys source table ignored (publication edited by hand?)', { table: result.table });
          }
          break;
        default:
          break;
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.handledCount++;
    }
  }

  /**
   * A TRUNCATE carries no rows, so it becomes a reconcile record per captured table: "at this
   * position the table is empty" (contracts/reconcile.ts); the loader gives every row still live
   * there a delete version. Every event before it must be durable before the copies are put, so
   * reading pauses (the messages after it are parked, in order) until the publisher has flushed
   * and the copies are enqueued; they are tracked like events, so the commit after them is
   * confirmed only once they are durable (D1).
   */
  private reconcileTruncate(lsn: string, truncate: Extract<ReturnType<PgoutputDecoder['decode']>, { kind: 'truncate' }>): void {
    const tables = truncate.tables.filter(isSourceTable);
    const ignored = truncate.tables.filter((t) => !isSourceTable(t));
    if (ignored.length) this.o.logger.warn('TRUNCATE of a table that is not a totesys source table ignored', { lsn, tables: ignored });
    if (tables.length === 0) return;
    this.o.stats.status.truncatesReconciled = (this.o.stats.status.truncatesReconciled ?? 0) + tables.length;
    this.o.logger.warn('TRUNCATE captured: every row of the table gets a delete version downstream (reconcile record)', {
      event: 'truncate-reconciled',
      lsn,
      commitLsn: truncate.commitLsn,
      tables,
    });
    const done = this.publisher.flush().then(async () => {
      for (const table of tables) {
        await enqueueReconcile(this.publisher, this.o.reconcileShards, {
          id: truncateReconcileId(table, truncate.commitLsn, truncate.seq),
          table,
          lsn: truncate.commitLsn,
          seq: truncate.seq,
          commitTs: truncate.commitTs,
          reason: 'truncate',
          keyAfter: null,
          keyTo: null,
          keys: [],
        });
      }
    });
    this.waitForRoom(done);
  }

  private onKeepalive(walEnd: string, shouldRespond: boolean): void {
    if (this.stopping || this.error) return;
    // D6, idle milestone: everything received before this keepalive was handled and no transaction
    // is open, so every commit before walEnd has been registered.
    if (this.handledCount === this.receivedCount && !this.decoder.inTransaction) {
      this.o.logger.debug('idle keepalive milestone', { walEnd, received: this.receivedCount });
      this.positions.milestone(parseLsn(walEnd));
      this.confirm();
    }
    if (shouldRespond) this.sendStatus();
  }

  /** Sends the confirmable position when it advanced (D1, D2, S3); ends the session at the stop LSN. */
  private confirm(): void {
    const confirmable = this.positions.flushable();
    this.o.watermarks?.durableUpTo(confirmable);
    this.o.stats.status.inFlightEvents = this.positions.inFlight();
    if (confirmable > this.lastSentFlush) {
      this.lastSentFlush = confirmable;
      this.sendStatus();
      this.o.stats.status.lastConfirmedLsn = formatLsn(confirmable);
      this.o.stats.status.lastConfirmedAt = new Date().toISOString();
      this.o.onConfirmed?.(confirmable);
    }
    // A running resnapshot is finished first (its watermarks lie past the stop LSN).
    if (this.started && this.positions.stopReached() && !this.o.resnapshots?.busy) void this.requestStop('stop-lsn-reached');
  }

  /** Standby status with the confirmed flush position (also the reply to keepalive pings). */
  private sendStatus(): void {
    if (this.lastSentFlush === 0n) return;
    this.stream.acknowledge(this.lastSentFlush);
  }

  private fail(error: unknown): void {
    if (this.error) return;
    this.error = error;
    this.o.stats.status.lastError = errorMessage(error);
    void this.stream.stop().catch(() => undefined);
  }

  private async teardown(): Promise<void> {
    this.o.resnapshots?.close();
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    // Events still queued after an error must not race the next session's puts: wait for them.
    if (!this.publisher.failed) await this.publisher.flush().catch(() => undefined);
    this.publisher.close();
    await this.stream.destroy().catch(() => undefined);
  }
}
