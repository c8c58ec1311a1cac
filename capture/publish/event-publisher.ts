import { partitionKeyOf, serializeChangeEvent, type ChangeEvent } from '../../contracts/change-event.js';
import { errorMessage, isRetryable } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ChangeStreamWriter, StreamRecord } from '../../stream/change-stream.js';
import type { AckTracker } from './ack-tracker.js';
import { PublishError } from '../capture-errors.js';

/**
 * Publishes change events to the stream in batches and reports durability to the AckTracker.
 * A batch (≤ maxBatchRecords / maxBatchBytes) is sealed when full, or by group commit: while a put
 * is in flight, the records that arrive meanwhile wait for it and go out together as soon as it is
 * durable; when nothing is being put, a batch goes out lingerMs after its first record (the rest of
 * the transaction being decoded joins it). So a light stream waits about a put (one fsync locally)
 * instead of a fixed interval, and a heavy one still makes large batches (they grow with the put
 * time). flushIntervalMs caps how long a record waits to be sealed.
 *
 * Ordering (docs/capture-spec.md, D3): exactly one `put` is in flight at a time and batches are put in WAL order, so the
 * stream's per-key order equals WAL order. A failed put is retried with the same records in the
 * same order (duplicates carry identical ids); after the last attempt the publisher is failed for
 * good and accepts nothing more, so no later event can overtake the failed one.
 *
 * Backpressure: enqueue() returns a promise while more than maxInFlightEvents / maxInFlightBytes
 * are not yet durable; the caller (the replication handler, under flow control) awaits it, which
 * pauses reading WAL.
 */
export interface EventPublisherOptions {
  writer: ChangeStreamWriter;
  tracker: AckTracker;
  logger: Logger;
  maxBatchRecords?: number;
  maxBatchBytes?: number;
  flushIntervalMs?: number;
  /** When nothing is being put: how long a batch waits after its first record before it goes out (default 2 ms). */
  lingerMs?: number;
  maxInFlightEvents?: number;
  maxInFlightBytes?: number;
  maxPutAttempts?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  /** Called after each durable batch (metrics): change events, latency, and the other records (reconcile copies). */
  onDurable?: (records: number, putLatencyMs: number, otherRecords: number) => void;
  /** Called after the tracker advanced (the session confirms the new LSN). */
  onProgress?: () => void;
}

interface Batch {
  records: StreamRecord[];
  bytes: number;
  /** Sequence bound: every event below it is in this or an earlier batch. */
  seqEnd: number;
  firstEventId: string;
  /** Records that are not change events (reconcile copies): not counted as events published. */
  otherRecords: number;
}

export class EventPublisher {
  private readonly o: Required<Omit<EventPublisherOptions, 'onDurable' | 'onProgress'>> & Pick<EventPublisherOptions, 'onDurable' | 'onProgress'>;
  private current: Batch | null = null;
  private sealed: Batch[] = [];
  private pumping = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlightBytes = 0;
  private failure: Error | null = null;
  private roomWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private idleWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(options: EventPublisherOptions) {
    this.o = {
      maxBatchRecords: 500,
      maxBatchBytes: 4 * 1024 * 1024,
      flushIntervalMs: 50,
      lingerMs: 2,
      maxInFlightEvents: 1500,
      maxInFlightBytes: 32 * 1024 * 1024,
      maxPutAttempts: 6,
      retryBaseMs: 200,
      retryCapMs: 10_000,
      ...options,
    };
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Queues one event (WAL order). Resolves at once unless the in-flight bound is reached. */
  enqueue(event: ChangeEvent): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    return this.enqueueSerialized(event.id, partitionKeyOf(event), serializeChangeEvent(event));
  }

  /**
   * enqueue() for an event that is already serialized: `json` must be serializeChangeEvent(event)
   * and `partitionKey` partitionKeyOf(event) (the streaming decoder writes both directly).
   * Returns undefined while there is room, so the caller only awaits when it must pause.
   */
  enqueueSerialized(eventId: string, partitionKey: string, json: string, isChangeEvent = true): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    const data = Buffer.from(json);
    const record: StreamRecord = { partitionKey, data };
    this.o.tracker.register();
    if (!this.current) {
      this.current = { records: [], bytes: 0, seqEnd: 0, firstEventId: eventId, otherRecords: 0 };
      // A put in flight seals this batch when it is durable (pump); the timer only caps the wait then.
      this.timer = setTimeout(() => this.seal(), this.pumping ? this.o.flushIntervalMs : Math.min(this.o.lingerMs, this.o.flushIntervalMs));
    }
    const batch = this.current;
    batch.records.push(record);
    if (!isChangeEvent) batch.otherRecords++;
    batch.bytes += data.length;
    batch.seqEnd = this.o.tracker.registered();
    this.inFlightBytes += data.length;
    if (batch.records.length >= this.o.maxBatchRecords || batch.bytes >= this.o.maxBatchBytes) this.seal();
    if (this.o.tracker.inFlight() >= this.o.maxInFlightEvents || this.inFlightBytes >= this.o.maxInFlightBytes) {
      return new Promise((resolve, reject) => this.roomWaiters.push({ resolve, reject }));
    }
    return undefined;
  }

  /** Puts everything queued and resolves when it is durable; rejects if the publisher failed. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.seal();
    if (!this.pumping && this.sealed.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  /** Stops the timer; queued but unsent events are dropped (they were never confirmed). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.current || this.current.records.length === 0) return;
    this.sealed.push(this.current);
    this.current = null;
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.sealed.length > 0 && !this.failure) {
        const batch = this.sealed[0];
        await this.putWithRetry(batch);
        this.sealed.shift();
        this.inFlightBytes -= batch.bytes;
        this.o.tracker.durableUpTo(batch.seqEnd);
        this.o.onProgress?.();
        this.releaseRoom();
        // Group commit: what arrived during that put goes out now rather than after a timer.
        if (this.sealed.length === 0 && !this.failure) this.seal();
      }
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.pumping = false;
    }
    if (!this.failure && this.sealed.length === 0) {
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w.resolve();
    }
  }

  private async putWithRetry(batch: Batch): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        await this.o.writer.put(batch.records);
        this.o.onDurable?.(batch.records.length - batch.otherRecords, performance.now() - started, batch.otherRecords);
        return;
      } catch (error) {
        const retryable = isRetryable(error);
        if (!retryable || attempt >= this.o.maxPutAttempts) {
          throw new PublishError(
            `publishing ${batch.records.length} events (first ${batch.firstEventId}) failed after ${attempt} attempt(s): ${errorMessage(error)}`,
            batch.firstEventId,
            { retryable, cause: error },
          );
        }
        const delayMs = Math.min(this.o.retryCapMs, this.o.retryBaseMs * 2 ** (attempt - 1));
        this.o.logger.warn('stream put failed, retrying', { attempt, delayMs, records: batch.records.length, firstEventId: batch.firstEventId, error });
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private releaseRoom(): void {
    if (this.o.tracker.inFlight() >= this.o.maxInFlightEvents || this.inFlightBytes >= this.o.maxInFlightBytes) return;
    const waiters = this.roomWaiters.splice(0);
    for (const w of waiters) w.resolve();
  }

  private fail(error: Error): void {
    this.failure = error;
    this.close();
    for (const w of [...this.roomWaiters.splice(0), ...this.idleWaiters.splice(0)]) w.reject(error);
  }
}
