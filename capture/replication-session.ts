import { LogicalReplicationService } from 'pg-logical-replication';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { formatLsn, parseLsn, type Lsn } from '../contracts/lsn.js';
import type { ChangeStreamWriter } from '../stream/change-stream.js';
import { AckTracker } from './ack-tracker.js';
import type { CapturePhase, CaptureStats } from './capture-status.js';
import { EventPublisher, type EventPublisherOptions } from './event-publisher.js';
import { PgoutputDecoder, type PgoutputMessageLike } from './pgoutput-decoder.js';
import { TextPgoutputPlugin } from './text-pgoutput-plugin.js';
import type { WatermarkPublisher } from './watermark-publisher.js';

export const HEARTBEAT_PREFIX = 'totesys_cdc_heartbeat';

/**
 * One streaming connection to the slot, from connect to end. The caller (run-capture.ts) loops over
 * sessions with backoff; every session starts again from the slot's confirmed position.
 *
 * Confirming (the delivery guarantee, DESIGN.md §4): the LSN sent as "flushed" is always the
 * AckTracker's confirmable position, i.e. a flush position all of whose preceding events the
 * stream has accepted. Three kinds of milestones feed the tracker:
 *   a. Commit: the commit record's end LSN (every change of the transaction registered before it).
 *   b. A non-transactional logical message (our heartbeat) seen outside a transaction: its LSN.
 *   c. A keepalive while idle (every received message handled, no open transaction): its WAL end.
 * The library's own periodic status (acknowledge.timeoutSeconds) would report the last *received*
 * LSN as flushed, so it is disabled; this session sends its own status every statusIntervalMs.
 *
 * Backpressure: messages are handled synchronously as they arrive, in WAL order. When the publisher
 * reports that the in-flight bound is reached, the session stops reading the socket and parks the
 * messages already received (at most the rest of the socket chunk being parsed) until there is
 * room again; then it handles them in order and resumes reading. The library's flowControl did the
 * same with a promise and a socket pause/resume per message batch, even when the sink had room,
 * which cost a third of the capture's CPU time and stalled the walsender between chunks.
 */
export interface SessionOptions {
  connectionString: string;
  slotName: string;
  publicationName: string;
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
   * (slot-preparation.ts) stops where the new slot's snapshot begins: the new slot streams those.
   */
  skipFromLsn?: Lsn;
  /** The capture phase reported while this session streams (default 'streaming'; the bridge is part of the snapshot). */
  phase?: CapturePhase;
  publisher?: Partial<EventPublisherOptions>;
  statusIntervalMs?: number;
  onConfirmed?: (lsn: Lsn) => void;
  /** Heartbeats → watermark records on every shard (streaming sessions only, never the bridge). */
  watermarks?: WatermarkPublisher;
}

export type SessionEnd = { reason: 'stopped' | 'stop-lsn-reached'; confirmed: Lsn } | { reason: 'error'; error: unknown; confirmed: Lsn };

export class ReplicationSession {
  private readonly service: LogicalReplicationService;
  private readonly plugin: TextPgoutputPlugin;
  private readonly decoder = new PgoutputDecoder();
  private readonly tracker: AckTracker;
  private readonly publisher: EventPublisher;
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
    this.tracker = new AckTracker(o.resumeFrom);
    this.lastSentFlush = o.resumeFrom;
    this.service = new LogicalReplicationService(
      // Fixed output settings so pgoutput's text values match the snapshot's ::text casts.
      { connectionString: o.connectionString, options: '-c TimeZone=UTC -c DateStyle=ISO,MDY -c extra_float_digits=1', application_name: 'totesys-cdc-capture', connectionTimeoutMillis: 10_000 },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
    this.plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [o.publicationName], messages: true });
    this.publisher = new EventPublisher({
      writer: o.writer,
      tracker: this.tracker,
      logger: o.logger,
      ...o.publisher,
      onDurable: (records, latencyMs) => o.stats.published(records, latencyMs),
      onProgress: () => this.confirm(),
    });
  }

  get confirmed(): Lsn {
    return this.flushable();
  }

  /** Whether START_REPLICATION succeeded (the caller resets its backoff). */
  get hasStarted(): boolean {
    return this.started;
  }

  /** Streams until stop(), the stop LSN, or an error. Never throws: the end says why. */
  async run(): Promise<SessionEnd> {
    // Stopped before it ran (a stop request while the caller was still preparing): nothing would
    // ever end the stream once it started.
    if (this.stopping) return { reason: this.stopReason, confirmed: this.flushable() };
    this.service.on('data', (lsn: string, message: PgoutputMessageLike) => this.onData(lsn, message));
    this.service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => this.onKeepalive(lsn, shouldRespond));
    this.service.on('error', (error: Error) => this.fail(error));
    this.service.on('start', () => {
      this.started = true;
      this.o.stats.status.phase = this.o.phase ?? 'streaming';
      this.sendStatus();
      this.statusTimer = setInterval(() => this.sendStatus(), this.o.statusIntervalMs ?? 5_000);
      if (this.o.stopAtLsn !== undefined && this.tracker.confirmable() >= this.o.stopAtLsn) this.requestStop('stop-lsn-reached');
    });
    try {
      // '0/0': the server starts at the slot's confirmed_flush_lsn. Never pass a received-but-not-
      // durable LSN here: the server would skip every transaction committed before it.
      await this.service.subscribe(this.plugin, this.o.slotName, '0/0');
      if (!this.stopping && !this.error) this.error = new Error('replication stream ended unexpectedly');
    } catch (error) {
      if (!this.stopping && !this.error) this.error = error;
    }
    if (this.stopPromise) await this.stopPromise;
    await this.teardown();
    const confirmed = this.flushable();
    return this.error ? { reason: 'error', error: this.error, confirmed } : { reason: this.stopReason, confirmed };
  }

  /** Graceful stop: stop reading, publish what is queued, confirm what is durable, disconnect. */
  stop(): Promise<void> {
    return this.requestStop('stopped');
  }

  private requestStop(reason: 'stopped' | 'stop-lsn-reached'): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.stopping = true;
    this.stopReason = reason;
    this.stopPromise = (async () => {
      this.o.logger.debug('session stopping', { reason, waitingForRoom: this.waitingForRoom, parked: (this.parked.length - this.parkedHead) / 2 });
      try {
        await this.publisher.flush();
      } catch (error) {
        this.fail(error);
      }
      this.confirm();
      this.sendStatus();
      this.o.logger.debug('session stopping: published, disconnecting', { confirmed: formatLsn(this.flushable()) });
      // Let the status message reach the socket before the connection is closed.
      await new Promise((r) => setImmediate(r));
      await this.service.stop().catch(() => undefined);
      this.o.logger.debug('session stopping: disconnected');
    })();
    return this.stopPromise;
  }

  private onData(lsn: string, message: PgoutputMessageLike): void {
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

  /**
   * Pauses or resumes the replication socket (the one the library's own flowControl pauses). While
   * paused, Postgres keeps the rest of the WAL: the walsender blocks once the socket buffers fill.
   */
  private setReading(reading: boolean): void {
    const stream = (this.service as unknown as { _connection?: { stream?: { pause?: () => void; resume?: () => void } } })._connection?.stream;
    if (reading) stream?.resume?.();
    else stream?.pause?.();
  }

  private handle(lsn: string, message: PgoutputMessageLike): void {
    try {
      if (this.stopping || this.error) return;
      this.o.stats.status.lastReceivedLsn = lsn;
      if (message.tag === 'begin') {
        // A transaction that committed before the position the previous session made durable was
        // published already: skip it instead of duplicating it.
        const commitLsn = message.commitLsn === null ? null : parseLsn(message.commitLsn);
        this.skipTransaction = commitLsn !== null && (commitLsn < this.o.resumeFrom || (this.o.skipFromLsn !== undefined && commitLsn >= this.o.skipFromLsn));
      }
      const result = this.decoder.decode(lsn, message);
      switch (result.kind) {
        case 'event': {
          if (this.skipTransaction) break;
          const { id, partitionKey, json } = result.event;
          const room = this.publisher.enqueueSerialized(id, partitionKey, json);
          if (room) this.waitForRoom(room);
          break;
        }
        case 'commit':
          this.skipTransaction = false;
          this.tracker.milestone(result.commitEndLsn);
          this.confirm();
          break;
        case 'message':
          if (!result.transactional && !this.decoder.inTransaction) {
            this.o.logger.debug('message milestone', { lsn: formatLsn(result.messageLsn), prefix: result.prefix });
            if (result.prefix === HEARTBEAT_PREFIX) this.o.watermarks?.heartbeatSeen(result.content, result.messageLsn);
            this.tracker.milestone(result.messageLsn);
            this.confirm();
          }
          break;
        case 'truncate':
          this.o.stats.status.truncatesSkipped++;
          this.o.logger.error('TRUNCATE captured: no row events can be emitted for it, downstream keeps the truncated rows', {
            lsn,
            tables: result.tables,
          });
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

  private onKeepalive(walEnd: string, shouldRespond: boolean): void {
    if (this.stopping || this.error) return;
    // Idle milestone: everything received before this keepalive was handled and no transaction is
    // open, so every commit before walEnd has been registered.
    if (this.handledCount === this.plugin.receivedCount && !this.decoder.inTransaction) {
      this.o.logger.debug('idle keepalive milestone', { walEnd, received: this.plugin.receivedCount });
      this.tracker.milestone(parseLsn(walEnd));
      this.confirm();
    }
    if (shouldRespond) this.sendStatus();
  }

  /** Sends the confirmable position when it advanced; ends the session at the stop LSN. */
  private confirm(): void {
    const confirmable = this.flushable();
    this.o.watermarks?.durableUpTo(confirmable);
    this.o.stats.status.inFlightEvents = this.tracker.inFlight();
    if (confirmable > this.lastSentFlush) {
      this.lastSentFlush = confirmable;
      this.sendStatus();
      this.o.stats.status.lastConfirmedLsn = formatLsn(confirmable);
      this.o.stats.status.lastConfirmedAt = new Date().toISOString();
      this.o.onConfirmed?.(confirmable);
    }
    if (this.o.stopAtLsn !== undefined && this.tracker.confirmable() >= this.o.stopAtLsn && this.started) void this.requestStop('stop-lsn-reached');
  }

  /** The confirmable position, capped at skipFromLsn (skipped transactions were not published). */
  private flushable(): Lsn {
    const reached = this.tracker.confirmable();
    return this.o.skipFromLsn !== undefined && reached > this.o.skipFromLsn ? this.o.skipFromLsn : reached;
  }

  /** Standby status with the confirmed flush position (also the reply to keepalive pings). */
  private sendStatus(): void {
    if (this.lastSentFlush === 0n) return;
    // The library reports lsn + 1 as written/flushed/applied; pass flush - 1 so Postgres receives
    // exactly the flush position.
    void this.service.acknowledge(formatLsn(this.lastSentFlush - 1n)).catch(() => undefined);
  }

  private fail(error: unknown): void {
    if (this.error) return;
    this.error = error;
    this.o.stats.status.lastError = errorMessage(error);
    void this.service.stop().catch(() => undefined);
  }

  private async teardown(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    // Events still queued after an error must not race the next session's puts: wait for them.
    if (!this.publisher.failed) await this.publisher.flush().catch(() => undefined);
    this.publisher.close();
    await this.service.destroy().catch(() => undefined);
  }
}
